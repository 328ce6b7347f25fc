import assert from 'node:assert/strict'
import { type TestContext, test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { migrate } from '../../../../src/adapters/db/migrate.ts'
import { openPgliteDatabase } from '../../../../src/adapters/db/pglite/pglite-database.ts'
import type { Database } from '../../../../src/ports/database.ts'

// PGlite has no autovacuum: the adapter analyzes the tables that are due, as autovacuum would.

async function withStamps(t: TestContext, analyzeIntervalMs: number): Promise<Database> {
  const db = await openPgliteDatabase({ analyzeIntervalMs })
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
  const deadline = performance.now() + 10_000
  while ((await lastAnalyze(db)) === null) {
    assert.ok(performance.now() < deadline, 'metadata_stamps was not analyzed within 10 s')
    await sleep(50)
  }
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
