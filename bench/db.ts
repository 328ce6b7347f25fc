/**
 * `npm run bench -- db`: the stamping node's three queries through the real StampStore, over the
 * Database port after migrations, one call at a time, as p50/p95/p99 in ms:
 * - insert_stamp: upsert of a new record (a new file_hash each call);
 * - get_by_hash: find(file_hash, namespace) of a random stored record;
 * - namespace_page: a page of 50 by keyset cursor, walking the namespace page after page, with planner
 *   statistics (after ANALYZE) and, as namespace_page_unanalyzed, before the table has any;
 * on PGlite in memory, PGlite on a data dir under os.tmpdir() (durable commits: WAL written before COMMIT
 * returns), and PostgreSQL (scripts/infra/postgres.sh, or BENCH_DATABASE_URL), where 16 concurrent
 * inserts are measured as well. Goal: every p95 on PostgreSQL under 5 ms.
 * BENCH_DB_ITERATIONS (default 2000) timed calls per figure, after 200 untimed ones.
 */
import { randomBytes, randomUUID } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { migrate } from '../src/adapters/db/migrate.ts'
import { openPgliteDatabase } from '../src/adapters/db/pglite/pglite-database.ts'
import { openPostgresDatabase } from '../src/adapters/db/postgres/postgres-database.ts'
import { type NewStamp, StampStore } from '../src/nodes/stamping/store.ts'
import type { Database } from '../src/ports/database.ts'
import { asyncLatencyMs, type Latency, percentiles, round } from './measure.ts'
import { openBenchPostgres } from './postgres.ts'
import { report, skipped } from './report.ts'

const ITERATIONS = Number(process.env['BENCH_DB_ITERATIONS'] ?? 2000)
const WARMUP = 200
const PAGE = 50
const CONCURRENCY = 16
const namespace = 'omninode.bench.db'
const postgresGoalP95Ms = 5

export async function run(): Promise<void> {
  if (!Number.isInteger(ITERATIONS) || ITERATIONS < 1) throw new Error('BENCH_DB_ITERATIONS must be >= 1')

  await measureBackend('pglite_memory', await openPgliteDatabase())

  const dir = await mkdtemp(join(tmpdir(), 'omninode-bench-db-'))
  try {
    await measureBackend('pglite_disk', await openPgliteDatabase({ dataDir: dir }), { data_dir: tmpdir() })
  } finally {
    await rm(dir, { recursive: true, force: true })
  }

  let pg: Awaited<ReturnType<typeof openBenchPostgres>>
  try {
    pg = await openBenchPostgres()
  } catch (err) {
    skipped('db', 'postgres', (err as Error).message, { backend: 'postgres' })
    return
  }
  try {
    const db = await openPostgresDatabase({ url: pg.url, poolSize: CONCURRENCY })
    await measureBackend('postgres', db, { server: pg.source }, async (store) => {
      await concurrentInserts(store, { server: pg.source })
    })
  } finally {
    await pg.close()
  }
}

async function measureBackend(
  backend: string,
  db: Database,
  extra: Record<string, unknown> = {},
  more?: (store: StampStore) => Promise<void>,
): Promise<void> {
  try {
    await migrate(db)
    const store = new StampStore(db)
    const hashes: string[] = []
    const line = (operation: string, latency: Latency, withGoal = true) => {
      const goal =
        withGoal && backend === 'postgres'
          ? { goal: `p95 < ${postgresGoalP95Ms} ms`, meets_goal: latency.p95 < postgresGoalP95Ms }
          : {}
      const common = { backend, iterations: ITERATIONS, ...extra }
      report('db', `${operation}_latency_p50`, round(latency.p50), 'ms', common)
      report('db', `${operation}_latency_p95`, round(latency.p95), 'ms', { ...common, ...goal })
      report('db', `${operation}_latency_p99`, round(latency.p99), 'ms', {
        ...common,
        max_ms: round(latency.max),
      })
    }

    line(
      'insert_stamp',
      await asyncLatencyMs(
        async () => {
          const stamp = newStamp()
          const { created } = await store.upsert(stamp)
          if (!created) throw new Error('insert_stamp updated an existing record')
          hashes.push(stamp.file_hash)
        },
        ITERATIONS,
        WARMUP,
      ),
    )

    line(
      'get_by_hash',
      await asyncLatencyMs(
        async () => {
          const hash = hashes[Math.floor(Math.random() * hashes.length)]!
          if (!(await store.find(hash, namespace))) throw new Error(`get_by_hash found no record of ${hash}`)
        },
        ITERATIONS,
        WARMUP,
      ),
    )

    // Walks the namespace by cursor; past the last page, starts again at the first (1 call in
    // hashes.length / PAGE has no cursor). Twice: right after the inserts, before the table has
    // planner statistics (a freshly loaded table, or PGlite before its first analyze round), then after
    // ANALYZE, as autovacuum (or the PGlite adapter's stand-in) leaves it; the goal is on the latter.
    let cursor: string | undefined
    const walk = async () => {
      const page = await store.page(namespace, PAGE, cursor)
      if (page.items.length === 0) throw new Error('namespace_page returned an empty page')
      cursor = page.next_cursor ?? undefined
    }
    line('namespace_page_unanalyzed', await asyncLatencyMs(walk, ITERATIONS, WARMUP), false)
    await db.query('ANALYZE metadata_stamps')
    line('namespace_page', await asyncLatencyMs(walk, ITERATIONS, WARMUP))
    await more?.(store)
  } finally {
    await db.close()
  }
}

/** `CONCURRENCY` inserts in flight at all times on a pool of as many connections: latency and rate. */
async function concurrentInserts(store: StampStore, extra: Record<string, unknown>): Promise<void> {
  const total = ITERATIONS * 4
  const times = new Float64Array(total)
  let next = 0
  const worker = async () => {
    while (next < total) {
      const i = next++
      const start = performance.now()
      await store.upsert(newStamp())
      times[i] = performance.now() - start
    }
  }
  const started = performance.now()
  await Promise.all(Array.from({ length: CONCURRENCY }, worker))
  const seconds = (performance.now() - started) / 1000
  const latency = percentiles(times)
  const common = {
    backend: 'postgres',
    concurrency: CONCURRENCY,
    pool_size: CONCURRENCY,
    inserts: total,
    ...extra,
  }
  report('db', 'insert_stamp_concurrent_throughput', round(total / seconds), 'inserts/s', common)
  report('db', 'insert_stamp_concurrent_latency_p50', round(latency.p50), 'ms', common)
  report('db', 'insert_stamp_concurrent_latency_p95', round(latency.p95), 'ms', {
    ...common,
    goal: `p95 < ${postgresGoalP95Ms} ms`,
    meets_goal: latency.p95 < postgresGoalP95Ms,
  })
  report('db', 'insert_stamp_concurrent_latency_p99', round(latency.p99), 'ms', {
    ...common,
    max_ms: round(latency.max),
  })
}

/** A record as POST /stamp stores it for a small Python file (same document shape): a new content hash each time. */
function newStamp(): NewStamp {
  const hash = randomBytes(32).toString('hex')
  const filePath = 'src/bench/example.py'
  return {
    file_hash: hash,
    namespace,
    file_path: filePath,
    file_size: 1024,
    content_type: 'text/x-python',
    stamp_type: 'lightweight',
    stamp_data: {
      uid: randomUUID(),
      hash,
      timestamp: new Date().toISOString(),
      protocol_version: '0.1',
      file_path: filePath,
      file_size: 1024,
      content_type: 'text/x-python',
      namespace,
      integrity: { algorithm: 'BLAKE3', hash },
    },
    intelligence_data: null,
    protocol_version: '0.1',
    op_id: randomUUID(),
  }
}
