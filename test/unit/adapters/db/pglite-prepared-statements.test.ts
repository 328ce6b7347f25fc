import assert from 'node:assert/strict'
import { type TestContext, test } from 'node:test'
import { PGlite } from '@electric-sql/pglite'
import { PreparedStatements } from '../../../../src/adapters/db/pglite/prepared-statements.ts'

// The adapter's own behaviour (values, errors, DDL under a kept plan) is in the Database contract
// suite; here is what only the cache decides: one statement per SQL text, and a bounded number kept.

async function open(t: TestContext, capacity?: number) {
  const pg = await PGlite.create()
  t.after(() => pg.close())
  const statements = new PreparedStatements(pg, capacity)
  const query = (sql: string, params: unknown[] = []) => pg.runExclusive(() => statements.query(sql, params))
  const kept = async () =>
    (
      await pg.query<{ name: string; statement: string }>(
        'SELECT name, statement FROM pg_prepared_statements ORDER BY statement',
      )
    ).rows
  return { statements, query, kept }
}

test('a SQL text is prepared once and executed with each call’s values', async (t) => {
  const { statements, query, kept } = await open(t)
  for (let n = 0; n < 20; n++) {
    const res = await query('SELECT $1::int * 2 AS twice, $2::text AS label', [n, `n${n}`])
    assert.deepEqual(res.rows, [{ twice: n * 2, label: `n${n}` }])
  }
  assert.equal(statements.size, 1)
  assert.deepEqual(
    (await kept()).map((s) => s.statement),
    ['SELECT $1::int * 2 AS twice, $2::text AS label'],
  )
})

test('beyond its capacity the least recently used statement is closed, and runs again when asked', async (t) => {
  const { statements, query, kept } = await open(t, 2)
  await query('SELECT 1 AS one')
  await query('SELECT 2 AS two')
  await query('SELECT 1 AS one') // now the most recent
  await query('SELECT 3 AS three') // closes 'two'
  assert.equal(statements.size, 2)
  assert.deepEqual(
    (await kept()).map((s) => s.statement),
    ['SELECT 1 AS one', 'SELECT 3 AS three'],
  )
  assert.deepEqual((await query('SELECT 2 AS two')).rows, [{ two: 2 }])
  assert.deepEqual(
    (await kept()).map((s) => s.statement),
    ['SELECT 2 AS two', 'SELECT 3 AS three'],
  )
})

test('a statement that does not parse is not kept, and the connection answers the next one', async (t) => {
  const { statements, query, kept } = await open(t)
  await assert.rejects(query('SELEC 1'), /syntax error/)
  await assert.rejects(query('SELECT * FROM no_such_table'), /does not exist/)
  assert.equal(statements.size, 0)
  assert.deepEqual(await kept(), [])
  assert.deepEqual((await query('SELECT $1::int AS n', [5])).rows, [{ n: 5 }])
})

test('forgetAll closes every kept statement', async (t) => {
  const { statements, query, kept } = await open(t)
  await query('SELECT 1 AS one')
  await query('SELECT 2 AS two')
  await statements.forgetAll()
  assert.equal(statements.size, 0)
  assert.deepEqual(await kept(), [])
  assert.deepEqual((await query('SELECT 1 AS one')).rows, [{ one: 1 }])
})
