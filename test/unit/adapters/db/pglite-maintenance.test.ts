import assert from 'node:assert/strict'
import { type TestContext, test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { migrate } from '../../../../src/adapters/db/migrate.ts'
import { openPgliteDatabase } from '../../../../src/adapters/db/pglite/pglite-database.ts'
import type { Database } from '../../../../src/ports/database.ts'
import { until } from '../../../helpers/until.ts'

// PGlite has no autovacuum: the adapter analyzes and vacuums the tables that are due, as autovacuum would.

async function withStamps(t: TestContext, analyzeIntervalMs: number): Promise<Database> {
  const db = await openPgliteDatabase({ analyzeIntervalMs, vacuumIntervalMs: 0 })
  t.after(() => db.close())
  await migrate(db)
  await db.query(
    `INSERT INTO metadata_stamps (file_hash, namespace, file_size, content_type, stamp_type, stamp_data, op_id)
     SELECT lpad(to_hex(g), 64, '0'), 'omninode.analyze', 1, 'text/plain', 'lightweight', '{}', gen_random_uuid()
     FROM generate_series(1, 2000) AS g`,
  )
  return db
}

const lastAnalyze = async (db: Database) =>
  (
    await db.query<{ at: Date | null }>(
      "SELECT last_analyze AS at FROM pg_stat_user_tables WHERE relname = 'metadata_stamps'",
    )
  ).rows[0]?.at ?? null

// the keyset page of StampStore.page, after its first page
const pagePlan = async (db: Database) =>
  (
    await db.query<{ 'QUERY PLAN': string }>(
      `EXPLAIN SELECT * FROM metadata_stamps
       WHERE namespace = 'omninode.analyze' AND (created_at, id) > (now() - interval '1 hour', gen_random_uuid())
       ORDER BY created_at, id LIMIT 51`,
    )
  ).rows
    .map((r) => r['QUERY PLAN'])
    .join('\n')

test('a table with enough changes is analyzed, and a namespace page then reads the index in order', async (t) => {
  const db = await withStamps(t, 50)
  await until('metadata_stamps analyzed', async () => (await lastAnalyze(db)) !== null, 10_000)
  const plan = await pagePlan(db)
  assert.match(plan, /Index Scan using metadata_stamps_namespace_page_idx/)
  assert.doesNotMatch(plan, /Sort/)
})

test('analyzeIntervalMs 0 never analyzes: the page is planned from default estimates', async (t) => {
  const db = await withStamps(t, 0)
  await sleep(200)
  assert.equal(await lastAnalyze(db), null)
  assert.match(await pagePlan(db), /Sort/, 'the plan this maintenance exists to avoid')
})

// a queue as the event outbox is: every row deleted soon after its insert
async function withQueue(t: TestContext, vacuumIntervalMs: number): Promise<Database> {
  const db = await openPgliteDatabase({ analyzeIntervalMs: 0, vacuumIntervalMs })
  t.after(() => db.close())
  await db.execScript('CREATE TABLE queue (id bigserial PRIMARY KEY, body text NOT NULL)')
  return db
}

/** 2,000 rows inserted and deleted; the pages the queue has then (measured before a vacuum can run). */
const churn = (db: Database) =>
  db.transaction(async (tx) => {
    await tx.query("INSERT INTO queue (body) SELECT repeat('x', 500) FROM generate_series(1, 2000)")
    await tx.query('DELETE FROM queue')
    const { rows } = await tx.query<{ pages: number }>(
      "SELECT pg_relation_size('queue') / current_setting('block_size')::int AS pages",
    )
    return rows[0]!.pages
  })

const queueStats = async (db: Database) =>
  (
    await db.query<{ pages: number; vacuumed: Date | null }>(
      `SELECT pg_relation_size('queue') / current_setting('block_size')::int AS pages,
         (SELECT last_vacuum FROM pg_stat_user_tables WHERE relname = 'queue') AS vacuumed`,
    )
  ).rows[0]!

const untilVacuumed = (db: Database) =>
  until('the queue vacuumed', async () => (await queueStats(db)).vacuumed !== null, 10_000)

test('a table with enough dead rows is vacuumed, and its space is used again', async (t) => {
  const db = await withQueue(t, 50)
  const pages = await churn(db)
  assert.ok(pages > 100, `2,000 rows of 500 bytes take more than 100 pages (${pages})`)
  await untilVacuumed(db)
  assert.ok((await churn(db)) <= pages, 'the second 2,000 rows went into the vacuumed space')
})

test('vacuumIntervalMs 0 never vacuums: every batch of the queue takes new pages', async (t) => {
  const db = await withQueue(t, 0)
  const pages = await churn(db)
  await sleep(200)
  const after = await churn(db)
  assert.equal((await queueStats(db)).vacuumed, null)
  assert.ok(after >= 2 * pages - 1, `the dead rows' pages were not used again (${pages} → ${after})`)
})

test('a table at most half dead, and an append-only one, are left alone (each vacuum reads every index)', async (t) => {
  const db = await withQueue(t, 20)
  await db.query("INSERT INTO queue (body) SELECT 'x' FROM generate_series(1, 3000)")
  await db.query('DELETE FROM queue WHERE id <= 1000')
  await sleep(300)
  assert.equal((await queueStats(db)).vacuumed, null)
})
