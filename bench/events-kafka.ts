/**
 * `npm run bench -- events-kafka`: the EventBus on a real Kafka broker (one KRaft node).
 * - publish-to-consume throughput: 100,000 events through publishBatch (batches of 1,000), one
 *   subscriber on a 3-partition topic, timed from the first publish to the last handled event; the
 *   median of 3 rounds (goal: >= 20,000 events/s through one broker);
 * - end-to-end latency at a paced 5,000 events/s for 10 s, each event published on its own, from the
 *   publish call to the handler (goal: p99 < 50 ms).
 *
 * Broker: BENCH_KAFKA_BROKERS when set; else scripts/infra/kafka.sh start (stopped again afterwards if
 * this run started it). Publisher and subscriber share one process, as on a node hosting both.
 */
import { execFileSync } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { loadavg } from 'node:os'
import { fileURLToPath } from 'node:url'
import { openKafkaBus } from '../src/adapters/bus/kafka/kafka-bus.ts'
import { createEnvelope, type OnexEnvelopeV1 } from '../src/core/events/envelope.ts'
import type { EventBus } from '../src/ports/event-bus.ts'
import { median, round } from './measure.ts'
import { report } from './report.ts'

const THROUGHPUT_EVENTS = 100_000
const BATCH = 1_000
const PACED_RATE = 5_000
const PACED_SECONDS = 10
const WARMUP_EVENTS = 5_000
/** Throughput rounds (the median is reported): the machine is shared, single runs are noisy. */
const ROUNDS = 3

const source = { nodeId: 'bench-node', version: '0.1.0', environment: 'development' }

export async function run(): Promise<void> {
  const script = fileURLToPath(new URL('../scripts/infra/kafka.sh', import.meta.url))
  let brokers = process.env['BENCH_KAFKA_BROKERS']
  let startedHere = false
  if (!brokers) {
    const wasRunning = (() => {
      try {
        execFileSync('bash', [script, 'status'], { stdio: 'ignore' })
        return true
      } catch {
        return false
      }
    })()
    brokers = execFileSync('bash', [script, 'start'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
    }).trim()
    startedHere = !wasRunning
  }
  const bus = await openKafkaBus({ brokers: brokers.split(','), clientId: 'omninode-bench' })
  try {
    await measureBus(bus, 'kafka', { brokers })
  } finally {
    await bus.close()
    if (startedHere) execFileSync('bash', [script, 'stop'], { stdio: ['ignore', 'ignore', 'inherit'] })
  }
}

/** The two figures on any EventBus (topics made here, 3 partitions). */
export async function measureBus(
  bus: EventBus,
  label: string,
  extra: Record<string, unknown> = {},
): Promise<void> {
  const common = { bus: label, ...extra }
  const rounds = []
  for (let i = 0; i < ROUNDS; i++) rounds.push(await measureThroughput(bus))
  report(
    'events',
    'publish_to_consume_throughput',
    round(median(rounds.map((r) => r.eventsPerSecond))),
    'events/s',
    {
      ...common,
      events: THROUGHPUT_EVENTS,
      batch: BATCH,
      partitions: 3,
      event_bytes: rounds[0]!.eventBytes,
      rounds: ROUNDS,
      runs_events_per_s: rounds.map((r) => round(r.eventsPerSecond)),
      publish_only_events_per_s: round(median(rounds.map((r) => r.publishEventsPerSecond))),
      load_avg_1m: round(loadavg()[0]!),
    },
  )
  const latency = await measurePacedLatency(bus)
  const latencyExtra = {
    ...common,
    rate_per_s: PACED_RATE,
    seconds: PACED_SECONDS,
    samples: latency.samples,
    achieved_rate_per_s: round(latency.achievedRate),
    load_avg_1m: round(loadavg()[0]!),
  }
  report('events', 'e2e_latency_p50', round(latency.p50), 'ms', latencyExtra)
  report('events', 'e2e_latency_p99', round(latency.p99), 'ms', {
    ...latencyExtra,
    p999_ms: round(latency.p999),
    max_ms: round(latency.max),
  })
}

function event(n: number, sentAt = 0): OnexEnvelopeV1 {
  return createEnvelope(
    source,
    {
      eventType: 'METADATA_STAMP_CREATED',
      payload: {
        n,
        sent_at: sentAt,
        file_hash: 'a'.repeat(64),
        namespace: 'omninode.services.metadata',
        file_size: 1024 + n,
      },
      correlationId: randomUUID(),
    },
    { eventId: randomUUID(), now: new Date() },
  )
}

async function freshTopic(bus: EventBus, name: string): Promise<string> {
  const topic = `bench.${name}.${randomUUID().slice(0, 8)}`
  await bus.ensureTopics([{ topic, partitions: 3, retentionMs: 3_600_000 }])
  return topic
}

async function measureThroughput(bus: EventBus) {
  const topic = await freshTopic(bus, 'throughput')
  // built beforehand: the figure is the bus, not envelope construction
  const events = Array.from({ length: THROUGHPUT_EVENTS }, (_, n) => event(n))
  const eventBytes = JSON.stringify(events[0]).length
  let handled = 0
  const done = Promise.withResolvers<number>()
  const subscription = await bus.subscribe({
    groupId: `bench-${randomUUID()}`,
    topics: [topic],
    handler: async () => {
      if (++handled === THROUGHPUT_EVENTS) done.resolve(performance.now())
    },
  })
  const started = performance.now()
  for (let i = 0; i < events.length; i += BATCH) {
    await bus.publishBatch(events.slice(i, i + BATCH).map((envelope) => ({ topic, envelope })))
  }
  const published = performance.now()
  const finished = await within(done.promise, 120_000, `${THROUGHPUT_EVENTS} events consumed`)
  await subscription.stop()
  return {
    eventsPerSecond: THROUGHPUT_EVENTS / ((finished - started) / 1000),
    publishEventsPerSecond: THROUGHPUT_EVENTS / ((published - started) / 1000),
    eventBytes,
  }
}

/** Publishes at `PACED_RATE` (each event on its own, not awaited in turn) and times each one's trip. */
async function measurePacedLatency(bus: EventBus) {
  const topic = await freshTopic(bus, 'latency')
  const total = WARMUP_EVENTS + PACED_RATE * PACED_SECONDS
  const latencies = new Float64Array(total)
  let handled = 0
  const done = Promise.withResolvers<void>()
  const subscription = await bus.subscribe({
    groupId: `bench-${randomUUID()}`,
    topics: [topic],
    handler: async (e) => {
      const n = e.envelope.payload['n'] as number
      latencies[n] = performance.now() - (e.envelope.payload['sent_at'] as number)
      if (++handled === total) done.resolve()
    },
  })
  const failures: unknown[] = []
  const started = performance.now()
  let sent = 0
  // a tick every millisecond or so sends what is due by the clock, so that late ticks catch up
  while (sent < total) {
    const due = Math.min(total, Math.floor(((performance.now() - started) / 1000) * PACED_RATE) + 1)
    while (sent < due) {
      const n = sent++
      bus.publish(topic, event(n, performance.now())).catch((error: unknown) => failures.push(error))
    }
    await new Promise((resolve) => setTimeout(resolve, 1))
  }
  const sendSeconds = (performance.now() - started) / 1000
  await within(done.promise, 60_000, `${total} paced events consumed`)
  await subscription.stop()
  if (failures.length > 0) throw new Error(`${failures.length} publishes failed: ${String(failures[0])}`)
  const measured = Array.from(latencies.subarray(WARMUP_EVENTS)).sort((a, b) => a - b)
  const at = (q: number) => measured[Math.min(measured.length - 1, Math.floor(q * measured.length))]!
  return {
    p50: at(0.5),
    p99: at(0.99),
    p999: at(0.999),
    max: measured[measured.length - 1]!,
    samples: measured.length,
    achievedRate: total / sendSeconds,
  }
}

function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  return Promise.race([
    promise,
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms)
    }),
  ]).finally(() => clearTimeout(timer))
}
