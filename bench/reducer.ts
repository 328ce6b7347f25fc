/**
 * `npm run bench -- reducer`: items per second through the reducer.
 * - pure aggregation (core only): 200,000 items, split into batches by the contract's batch_size and
 *   window_size_ms, aggregated and folded into bridge states; the median of 3 rounds, with and
 *   without parsing the payloads (TypeBox) first. Goal: >= 100,000 items/s.
 * - end to end: METADATA_STAMP_CREATED events published on the bus, counted by the reducer node of a
 *   bridge (`--nodes reducer`), until the bridge state holds them all (dedup marks, watermarks, states
 *   and the reducer's own events committed in one transaction per batch, event log on). On the
 *   embedded default (in-process bus, PGlite in a data dir, fsync on), and on Kafka + PostgreSQL when
 *   BENCH_KAFKA_BROKERS is set (PostgreSQL: BENCH_DATABASE_URL, else scripts/infra/postgres.sh). The
 *   clock runs from the first publish to the last state commit. Goal: >= 20,000 items/s.
 *   Beside it, the CPU time per item over the same span (bench/cpu.ts): this process (publisher and
 *   bridge) and the servers named in BENCH_CPU_PIDS; the machines are shared, so items/s is noisy
 *   and CPU per item is the steadier figure.
 */
import { randomUUID } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import pino from 'pino'
import { openInProcessBus } from '../src/adapters/bus/in-process/in-process-bus.ts'
import { openKafkaBus } from '../src/adapters/bus/kafka/kafka-bus.ts'
import { openPgliteDatabase } from '../src/adapters/db/pglite/pglite-database.ts'
import { aggregate, applyDelta, type BridgeState } from '../src/core/aggregation/aggregate.ts'
import { type ReducerItem, toReducerItem } from '../src/core/aggregation/items.ts'
import { aggregationSettings } from '../src/core/aggregation/settings.ts'
import { splitBatches } from '../src/core/aggregation/windows.ts'
import { parseContract } from '../src/core/contracts/parse.ts'
import { createEnvelope, type OnexEnvelopeV1 } from '../src/core/events/envelope.ts'
import { topicName } from '../src/core/events/topics.ts'
import type { EventBus } from '../src/ports/event-bus.ts'
import { createBridge } from '../src/runtime/app.ts'
import { loadConfig } from '../src/runtime/config/load.ts'
import { cpuMeter } from './cpu.ts'
import { median, round } from './measure.ts'
import { openBenchPostgres } from './postgres.ts'
import { report, skipped } from './report.ts'

const PURE_ITEMS = 200_000
const E2E_ITEMS = Number(process.env['BENCH_REDUCER_ITEMS'] ?? 50_000)
const ROUNDS = 3
const GOAL_PURE = 100_000
const GOAL_E2E = 20_000
const PUBLISH_CHUNK = 1_000

const contract = parseContract(
  readFileSync(new URL('../src/nodes/reducer/contract.yaml', import.meta.url), 'utf8'),
  'reducer/contract.yaml',
)
const settings = aggregationSettings(contract)
const source = { nodeId: 'bench-reducer', version: '0.0.0', environment: 'development' }
const types = ['text/x-python', 'text/markdown', 'application/json', 'image/png', 'text/plain']

/** Stamp events as the stamping node writes them: 10 namespaces, 5 types, sizes up to ~2 MB. */
function stampEvents(n: number, namespacePrefix: string): OnexEnvelopeV1[] {
  const start = Date.now()
  return Array.from({ length: n }, (_, i) => {
    const hash = randomUUID().replaceAll('-', '').padEnd(64, '0')
    return createEnvelope(
      source,
      {
        eventType: 'METADATA_STAMP_CREATED',
        partitionKey: hash,
        payload: {
          file_hash: hash,
          namespace: `${namespacePrefix}${i % 10}`,
          stamp_type: i % 3 ? 'lightweight' : 'rich',
          file_path: `src/f${i}`,
          content_type: types[i % types.length]!,
          file_size: (i * 7919) % 2_000_000,
          created: i % 50 !== 0,
          uid: randomUUID(),
        },
      },
      { eventId: randomUUID(), now: new Date(start + Math.floor(i / 20)) },
    )
  })
}

function aggregateAll(items: readonly ReducerItem[]): Map<string, BridgeState> {
  const states = new Map<string, BridgeState>()
  for (const batch of splitBatches(items, settings))
    for (const d of aggregate(batch, settings).values())
      states.set(d.namespace, applyDelta(states.get(d.namespace), d, settings))
  return states
}

function pure(): void {
  const envelopes = stampEvents(PURE_ITEMS, 'omninode.bench.')
  const items = envelopes.map(toReducerItem)
  aggregateAll(items) // warm-up
  const rates: number[] = []
  const withParse: number[] = []
  for (let r = 0; r < ROUNDS; r++) {
    let t = performance.now()
    aggregateAll(items)
    rates.push(PURE_ITEMS / ((performance.now() - t) / 1000))
    t = performance.now()
    aggregateAll(envelopes.map(toReducerItem))
    withParse.push(PURE_ITEMS / ((performance.now() - t) / 1000))
  }
  const extra = { items: PURE_ITEMS, batch_size: settings.batchSize, rounds: ROUNDS, goal: `>= ${GOAL_PURE}` }
  const value = median(rates)
  report('reducer', 'pure_aggregation_throughput', round(value), 'items/s', {
    ...extra,
    meets_goal: value >= GOAL_PURE,
  })
  const parsed = median(withParse)
  report('reducer', 'pure_parse_and_aggregation_throughput', round(parsed), 'items/s', {
    ...extra,
    meets_goal: parsed >= GOAL_PURE,
  })
}

/** Publishes `n` stamp events on `publisher` and times until the reducer's states hold them all. */
async function endToEnd(
  label: string,
  open: () => Promise<{
    publisher: EventBus
    bridgeBus: EventBus | undefined
    config: Record<string, unknown>
    db?: Awaited<ReturnType<typeof openPgliteDatabase>>
    cleanup: () => Promise<void>
  }>,
): Promise<void> {
  const { publisher, bridgeBus, config, db, cleanup } = await open()
  const bridge = await createBridge(
    { ...loadConfig({ env: {} }), port: 0, nodes: ['reducer'], ...config },
    pino({ level: 'warn' }),
    { ...(db ? { db } : {}), ...(bridgeBus ? { bus: bridgeBus } : {}) },
  )
  try {
    const prefix = `omninode.bench.r${randomUUID().slice(0, 6)}.`
    const topic = topicName('development', 'metadataStampCreated')
    const counted = async () =>
      (
        await bridge.db.query<{ n: number }>(
          `SELECT coalesce(sum(item_count), 0)::int AS n FROM bridge_states WHERE namespace LIKE $1`,
          [`${prefix}%`],
        )
      ).rows[0]!.n
    // warm-up: the group formed, the code paths hot
    const warm = stampEvents(2_000, prefix)
    await publisher.publishBatch(warm.map((envelope) => ({ topic, envelope })))
    const warmDeadline = Date.now() + 120_000
    while ((await counted()) < warm.length) {
      if (Date.now() > warmDeadline) throw new Error('the reducer did not count the warm-up events')
      await new Promise((r) => setTimeout(r, 20))
    }
    const events = stampEvents(E2E_ITEMS, prefix)
    const cpu = cpuMeter()
    const started = performance.now()
    for (let i = 0; i < events.length; i += PUBLISH_CHUNK)
      await publisher.publishBatch(
        events.slice(i, i + PUBLISH_CHUNK).map((envelope) => ({ topic, envelope })),
      )
    const published = performance.now()
    const deadline = Date.now() + 600_000
    while ((await counted()) < warm.length + E2E_ITEMS) {
      if (Date.now() > deadline) throw new Error('the reducer did not count every event within 10 minutes')
      await new Promise((r) => setTimeout(r, 10))
    }
    const seconds = (performance.now() - started) / 1000
    const cpuPerItem = cpu(E2E_ITEMS)
    const value = E2E_ITEMS / seconds
    report('reducer', 'end_to_end_throughput', round(value), 'items/s', {
      backend: label,
      items: E2E_ITEMS,
      batch_size: settings.batchSize,
      publish_s: round((published - started) / 1000),
      total_s: round(seconds),
      cpu_us_per_item: Object.fromEntries(Object.entries(cpuPerItem).map(([k, v]) => [k, round(v)])),
      load_1m: round(loadavg()[0]!),
      goal: `>= ${GOAL_E2E}`,
      meets_goal: value >= GOAL_E2E,
    })
  } finally {
    await bridge.close()
    await cleanup()
  }
}

export async function run(): Promise<void> {
  // BENCH_REDUCER_ONLY=pure|embedded|kafka runs one part (profiling)
  const only = process.env['BENCH_REDUCER_ONLY']
  if (!only || only === 'pure') pure()
  if (only === 'pure') return

  if (!only || only === 'embedded')
    await endToEnd('in-process+pglite', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'omninode-bench-reducer-'))
      const bus = openInProcessBus()
      const db = await openPgliteDatabase({ dataDir: dir })
      return {
        publisher: bus,
        bridgeBus: bus,
        config: {},
        db,
        cleanup: async () => rmSync(dir, { recursive: true, force: true }),
      }
    })

  if (only === 'embedded') return
  const brokers = process.env['BENCH_KAFKA_BROKERS']
  if (!brokers) {
    skipped('reducer', 'end_to_end_throughput', 'BENCH_KAFKA_BROKERS not set', { backend: 'kafka+postgres' })
    return
  }
  let pg: Awaited<ReturnType<typeof openBenchPostgres>>
  try {
    pg = await openBenchPostgres()
  } catch (err) {
    skipped('reducer', 'end_to_end_throughput', (err as Error).message, { backend: 'kafka+postgres' })
    return
  }
  await endToEnd('kafka+postgres', async () => {
    const list = brokers.split(',')
    const publisher = await openKafkaBus({ brokers: list, clientId: 'omninode-bench-reducer-publisher' })
    return {
      publisher,
      bridgeBus: undefined,
      config: { kafkaBrokers: list, databaseUrl: pg.url },
      cleanup: async () => {
        await publisher.close()
        await pg.close()
      },
    }
  })
}
