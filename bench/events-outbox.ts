/**
 * Stamps per second with the outbox on, part of `npm run bench -- events`: a whole bridge (stamping
 * node, outbox, relay) on a database, POST /stamp through fastify's inject with 50 requests in flight,
 * each with content of its own, and a consumer of METADATA_STAMP_CREATED on the bus.
 * - `outbox_stamps_per_s`: stamps committed per second, each with its event in the same transaction,
 *   while the relay publishes; the anchor, measured in the same run, is the same bridge without a bus
 *   (events written to the outbox, nothing relayed): their ratio is the relay's cost to stamping.
 * - `outbox_events_per_s`: from the first request to the last event handled by the consumer.
 * - `outbox_commit_to_consume_p50/p99`: from a stamp's response to its event's arrival.
 * The database is PGlite on disk (the embedded default, durable commits) and, when PostgreSQL can be
 * had (BENCH_DATABASE_URL or scripts/infra/postgres.sh), PostgreSQL.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pino from 'pino'
import { openPgliteDatabase } from '../src/adapters/db/pglite/pglite-database.ts'
import { topicName } from '../src/core/events/topics.ts'
import type { Database } from '../src/ports/database.ts'
import type { EventBus } from '../src/ports/event-bus.ts'
import { type Bridge, createBridge } from '../src/runtime/app.ts'
import { loadConfig } from '../src/runtime/config/load.ts'
import { percentiles, round } from './measure.ts'
import { openBenchPostgres } from './postgres.ts'
import { report, skipped } from './report.ts'

const STAMPS = 5_000
const IN_FLIGHT = 50
const WARMUP = 300
const created = topicName('development', 'metadataStampCreated')

/** Measures the outbox on `label`'s bus, with PGlite on disk and then PostgreSQL. */
export async function measureOutbox(label: string, openBus: () => Promise<EventBus>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'omninode-bench-outbox-'))
  try {
    await measureOn(label, 'pglite_disk', openBus, async (suffix) =>
      openPgliteDatabase({ dataDir: join(dir, suffix) }),
    )
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
  let pg: Awaited<ReturnType<typeof openBenchPostgres>>
  try {
    pg = await openBenchPostgres()
  } catch (err) {
    skipped('events', 'outbox_stamps_per_s', (err as Error).message, { backend: label, database: 'postgres' })
    return
  }
  try {
    await measureOn(label, 'postgres', openBus, undefined, pg.url)
  } finally {
    await pg.close()
  }
}

async function measureOn(
  label: string,
  database: string,
  openBus: () => Promise<EventBus>,
  openDb: ((suffix: string) => Promise<Database>) | undefined,
  databaseUrl?: string,
): Promise<void> {
  const start = async (suffix: string, bus: EventBus | null) => {
    const config = {
      ...loadConfig({ env: {} }),
      nodes: ['stamping' as const],
      ...(databaseUrl ? { databaseUrl } : {}),
    }
    const db = openDb ? await openDb(suffix) : undefined
    return createBridge(config, pino({ level: 'silent' }), { bus, ...(db ? { db } : {}) })
  }

  // the anchor: the same stamps, their events written to the outbox, nothing relayed
  const anchor = await start('anchor', null)
  let anchorRate: number
  try {
    await stampMany(anchor, WARMUP, 'warm-up')
    anchorRate = (await stampMany(anchor, STAMPS, 'anchor')).perS
    // on PostgreSQL the next bridge shares the database: its relay must not start on these
    await anchor.db.query('DELETE FROM event_outbox')
  } finally {
    await anchor.close()
  }

  const bus = await openBus()
  const bridge = await start('relayed', bus)
  try {
    const arrivals = new Map<string, number>()
    const consumer = await bus.subscribe({
      groupId: `bench-outbox-${Date.now()}`,
      topics: [created],
      fromBeginning: false,
      handler: async (event) => {
        arrivals.set(event.envelope.payload['file_hash'] as string, performance.now())
      },
    })
    try {
      // the consumer has joined once a warm-up event arrives
      const warm = await stampMany(bridge, WARMUP, 'warm-up')
      await waitFor(() => warm.hashes.every((h) => arrivals.has(h)), 60_000, 'the warm-up events')
      const started = performance.now()
      const round1 = await stampMany(bridge, STAMPS, 'relayed')
      await waitFor(() => round1.hashes.every((h) => arrivals.has(h)), 120_000, 'every event')
      const lastArrival = Math.max(...round1.hashes.map((h) => arrivals.get(h)!))
      const lags = new Float64Array(round1.hashes.map((h) => arrivals.get(h)! - round1.committedAt.get(h)!))
      const lag = percentiles(lags)
      const extra = { backend: label, database, stamps: STAMPS, in_flight: IN_FLIGHT }
      report('events', 'outbox_stamps_per_s', round(round1.perS), 'stamps/s', {
        ...extra,
        anchor_no_relay_stamps_per_s: round(anchorRate),
        ratio_to_anchor: round(round1.perS / anchorRate),
      })
      report(
        'events',
        'outbox_events_per_s',
        round(STAMPS / ((lastArrival - started) / 1000)),
        'events/s',
        extra,
      )
      report('events', 'outbox_commit_to_consume_p50', round(lag.p50), 'ms', extra)
      report('events', 'outbox_commit_to_consume_p99', round(lag.p99), 'ms', {
        ...extra,
        max_ms: round(lag.max),
      })
    } finally {
      await consumer.stop()
    }
  } finally {
    await bridge.close()
  }
}

interface StampRun {
  perS: number
  hashes: string[]
  committedAt: Map<string, number>
}

/** `n` stamps of distinct content, IN_FLIGHT at a time; fails on any non-200. */
async function stampMany(bridge: Bridge, n: number, tag: string): Promise<StampRun> {
  const hashes: string[] = []
  const committedAt = new Map<string, number>()
  let next = 0
  const salt = `${tag}-${Date.now()}`
  const worker = async () => {
    while (next < n) {
      const i = next++
      const res = await bridge.app.inject({
        method: 'POST',
        url: '/stamp',
        payload: { content: `outbox bench ${salt} ${i}\n`, file_path: `f${i}.md` },
      })
      if (res.statusCode !== 200) throw new Error(`POST /stamp: ${res.statusCode} ${res.body}`)
      const hash = (res.json() as { data: { file_hash: string } }).data.file_hash
      committedAt.set(hash, performance.now())
      hashes.push(hash)
    }
  }
  const started = performance.now()
  await Promise.all(Array.from({ length: IN_FLIGHT }, worker))
  return { perS: n / ((performance.now() - started) / 1000), hashes, committedAt }
}

async function waitFor(check: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = performance.now() + ms
  while (!check()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}
