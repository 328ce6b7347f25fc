/**
 * `npm run bench -- events`: the event bus, from publish to a consumer's handler.
 * - throughput: 200,000 events published with publishBatch in chunks of 500 to a 3-partition topic
 *   and handled by one subscriber; events/s from the first publish to the last handled event, the
 *   median of 3 rounds after a warm-up (goal: >= 50,000 events/s in process, >= 20,000 on Kafka);
 * - latency: 5,000 events/s for 5 s, published one at a time on a schedule; each event's time from
 *   its publish call to its handler, measured with performance.now() kept in a map by event_id (not in
 *   the envelope); p50, p99 and max (goal: p99 < 50 ms);
 * - stamps/s with the outbox on, and the relay's cost to them (bench/events-outbox.ts).
 *
 * `measureBus(bus, label)` runs both on any EventBus. The in-process bus is always measured; with
 * BENCH_KAFKA_BROKERS=host:port[,host:port] the Kafka adapter (src/adapters/bus/kafka) is too.
 */
import { randomBytes, randomUUID } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import { openInProcessBus } from '../src/adapters/bus/in-process/in-process-bus.ts'
import { createEnvelope, type OnexEnvelopeV1 } from '../src/core/events/envelope.ts'
import type { EventBus } from '../src/ports/event-bus.ts'
import { measureOutbox } from './events-outbox.ts'
import { median, round } from './measure.ts'
import { report } from './report.ts'

export interface BusBenchOptions {
  /** @default 200_000 */
  events?: number
  /** @default 500 */
  chunk?: number
  /** @default 3 */
  rounds?: number
  /** @default 5_000 */
  ratePerSecond?: number
  /** @default 5_000 */
  paceMs?: number
  /** How long to wait for a consumer to join and for the last event (a broker is slower). @default 60_000 */
  patienceMs?: number
}

/** Issue 4's goals: 50,000 events/s in process, 20,000 through one Kafka broker. */
const GOAL_EVENTS_PER_S = { 'in-process': 50_000, kafka: 20_000 } as const
const GOAL_P99_MS = 50
const PARTITIONS = 3

export async function run(): Promise<void> {
  const bus = openInProcessBus()
  try {
    await measureBus(bus, 'in-process')
  } finally {
    await bus.close()
  }
  await measureOutbox('in-process', async () => openInProcessBus())
  const brokers = process.env['BENCH_KAFKA_BROKERS']
  if (brokers) {
    // a computed specifier, so that this file compiles and runs where the Kafka adapter is absent
    const specifier = new URL('../src/adapters/bus/kafka/kafka-bus.ts', import.meta.url).href
    const { openKafkaBus } = (await import(specifier)) as {
      openKafkaBus(options: { brokers: string[]; clientId?: string }): Promise<EventBus>
    }
    const kafka = await openKafkaBus({
      brokers: brokers.split(',').map((b) => b.trim()),
      clientId: 'bench-events',
    })
    try {
      await measureBus(kafka, 'kafka', { events: 100_000 })
    } finally {
      await kafka.close()
    }
    await measureOutbox('kafka', () =>
      openKafkaBus({ brokers: brokers.split(',').map((b) => b.trim()), clientId: 'bench-outbox' }),
    )
  } else {
    process.stderr.write('bench events: BENCH_KAFKA_BROKERS not set, Kafka not measured\n')
  }
}

/** Measures `bus` (throughput, then paced latency) and reports each figure with `backend: label`. */
export async function measureBus(bus: EventBus, label: string, options: BusBenchOptions = {}): Promise<void> {
  const events = options.events ?? 200_000
  const chunk = options.chunk ?? 500
  const rounds = options.rounds ?? 3
  const rate = options.ratePerSecond ?? 5_000
  const paceMs = options.paceMs ?? 5_000
  const patienceMs = options.patienceMs ?? 60_000

  // one topic and one consumer for every round, as a bus in service has: its logs fill up to their
  // retention and stay there
  const consumer = await readyConsumer(bus, patienceMs)
  // made once: the rounds publish the same envelopes again (nothing here deduplicates)
  const batch = envelopes(events)
  await throughputRound(bus, consumer, batch.slice(0, 20_000), chunk, patienceMs) // warm-up
  const publishRates: number[] = []
  const endToEndRates: number[] = []
  for (let r = 0; r < rounds; r++) {
    const rates = await throughputRound(bus, consumer, batch, chunk, patienceMs)
    publishRates.push(rates.publishPerS)
    endToEndRates.push(rates.endToEndPerS)
  }
  await consumer.stop()
  const throughput = median(endToEndRates)
  const extra = { backend: label, events, chunk, partitions: PARTITIONS, rounds }
  report('events', 'publish_to_consume_throughput', round(throughput), 'events/s', {
    ...extra,
    best: round(Math.max(...endToEndRates)),
    goal: `>= ${GOAL_EVENTS_PER_S[bus.kind]}`,
    meets_goal: throughput >= GOAL_EVENTS_PER_S[bus.kind],
  })
  report('events', 'publish_throughput', round(median(publishRates)), 'events/s', extra)

  const latency = await pacedLatency(bus, rate, paceMs, patienceMs)
  const paced = { backend: label, rate_per_s: rate, duration_ms: paceMs, samples: latency.samples }
  report('events', 'end_to_end_latency_p50', round(latency.p50), 'ms', paced)
  report('events', 'end_to_end_latency_p99', round(latency.p99), 'ms', {
    ...paced,
    max_ms: round(latency.max),
    goal: `< ${GOAL_P99_MS}`,
    meets_goal: latency.p99 < GOAL_P99_MS,
  })
}

const source = { nodeId: 'bench-events', version: '0.0.0', environment: 'development' }

function envelopes(n: number): OnexEnvelopeV1[] {
  const now = new Date()
  const out: OnexEnvelopeV1[] = new Array(n)
  for (let i = 0; i < n; i++) {
    out[i] = createEnvelope(
      source,
      {
        eventType: 'METADATA_STAMP_CREATED',
        payload: {
          seq: i,
          file_hash: 'ab'.repeat(32),
          file_path: `src/file-${i}.py`,
          namespace: 'omninode.bench',
        },
        correlationId: randomUUID(),
      },
      { eventId: randomUUID(), now },
    )
  }
  return out
}

/** A new topic and a subscriber on it that counts; resolves once the subscriber has had a first event. */
async function readyConsumer(
  bus: EventBus,
  patienceMs: number,
  onEvent: (e: OnexEnvelopeV1) => void = () => {},
): Promise<{ topic: string; handled: () => number; stop: () => Promise<void> }> {
  const topic = `bench.events.${randomBytes(5).toString('hex')}`
  await bus.ensureTopics([{ topic, partitions: PARTITIONS, retentionMs: 3_600_000 }])
  let handled = 0
  const subscription = await bus.subscribe({
    groupId: `bench-${randomBytes(5).toString('hex')}`,
    topics: [topic],
    handler: async (event) => {
      handled++
      onEvent(event.envelope)
    },
  })
  // a broker's group takes a while to form: time nothing until the consumer has had an event
  await bus.publish(topic, envelopes(1)[0]!)
  await waitFor(() => handled >= 1, patienceMs, 'the consumer to start')
  return { topic, handled: () => handled - 1, stop: () => subscription.stop() }
}

type Consumer = Awaited<ReturnType<typeof readyConsumer>>

async function throughputRound(
  bus: EventBus,
  consumer: Consumer,
  batch: readonly OnexEnvelopeV1[],
  chunk: number,
  patienceMs: number,
) {
  const n = batch.length
  const { topic } = consumer
  const before = consumer.handled()
  const started = performance.now()
  for (let i = 0; i < n; i += chunk) {
    await bus.publishBatch(batch.slice(i, i + chunk).map((envelope) => ({ topic, envelope })))
  }
  const published = performance.now()
  await waitFor(() => consumer.handled() - before >= n, patienceMs, `${n} events`, true)
  const done = performance.now()
  return { publishPerS: n / ((published - started) / 1000), endToEndPerS: n / ((done - started) / 1000) }
}

async function pacedLatency(bus: EventBus, rate: number, durationMs: number, patienceMs: number) {
  const total = Math.round((rate * durationMs) / 1000)
  const batch = envelopes(total)
  const sentAt = new Map<string, number>()
  const latencies = new Float64Array(total)
  let received = 0
  const consumer = await readyConsumer(bus, patienceMs, (e) => {
    const at = sentAt.get(e.event_id)
    if (at !== undefined) latencies[received++] = performance.now() - at
  })
  const started = performance.now()
  let sent = 0
  while (sent < total) {
    const due = Math.min(total, Math.floor(((performance.now() - started) * rate) / 1000))
    while (sent < due) {
      const envelope = batch[sent++]!
      sentAt.set(envelope.event_id, performance.now())
      await bus.publish(consumer.topic, envelope)
    }
    await sleep(1)
  }
  await waitFor(() => received >= total, patienceMs, `${total} paced events`)
  await consumer.stop()
  latencies.sort()
  const at = (q: number) => latencies[Math.min(total - 1, Math.floor(q * total))]!
  return { p50: at(0.5), p99: at(0.99), max: latencies[total - 1]!, samples: total }
}

/** Polls `check`; `eager` polls on every turn of the event loop instead of every millisecond. */
async function waitFor(check: () => boolean, timeoutMs: number, what: string, eager = false): Promise<void> {
  const until = performance.now() + timeoutMs
  while (!check()) {
    if (performance.now() > until) throw new Error(`bench events: timed out waiting for ${what}`)
    if (eager) await new Promise(setImmediate)
    else await sleep(1)
  }
}
