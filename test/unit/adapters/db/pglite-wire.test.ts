import assert from 'node:assert/strict'
import { test } from 'node:test'
import { messages, PGlite, protocol } from '@electric-sql/pglite'
import { bindExecuteSync } from '../../../../src/adapters/db/pglite/bind-message.ts'
import { PreparedStatements } from '../../../../src/adapters/db/pglite/prepared-statements.ts'

// The adapter writes its Bind/Execute/Sync messages and reads PostgreSQL's answers itself
// (bind-message.ts, result-reader.ts): PGlite's own serializer and query are the oracle.

test('Bind + Execute + Sync are the bytes PGlite’s serializer writes', () => {
  for (const values of [
    [],
    ['a'],
    [null, '', 'x'],
    ['é😀\u0000 mixed', '{"k": "v", "n": [1, 2]}', '\\x00ff'],
    Array.from({ length: 300 }, (_, i) => (i % 7 === 0 ? null : 'v'.repeat(i))),
  ]) {
    for (const name of ['onx_1', 'onx_12345']) {
      const theirs = Buffer.concat([
        protocol.serialize.bind({ statement: name, values }),
        protocol.serialize.execute({}),
        protocol.serialize.sync(),
      ])
      assert.deepEqual(bindExecuteSync(name, values), theirs, `values ${JSON.stringify(values).slice(0, 60)}`)
    }
  }
})

test('a kept statement answers what PGlite’s own query answers: rows, types, affected rows', async (t) => {
  const pg = await PGlite.create()
  t.after(() => pg.close())
  const statements = new PreparedStatements(pg)
  const ours = (sql: string, params: unknown[] = []) => pg.runExclusive(() => statements.query(sql, params))
  await pg.exec(`CREATE TABLE kinds (
    id int PRIMARY KEY, big bigint, num numeric, txt text, ok boolean, at timestamptz, doc jsonb,
    raw bytea, tags text[], uid uuid, score double precision)`)
  const row = [
    1,
    '9007199254740993',
    '12.50',
    'Ünïcødé 😀, "quoted", \\ and a\nnewline',
    true,
    new Date('2026-12-07T10:00:00.123Z'),
    JSON.stringify({ nested: { list: [1, 'two', null] }, s: 'é' }),
    new Uint8Array([0, 1, 254, 255]),
    ['a', 'b c', 'd"e'],
    '0b6c7a2e-8e4f-4f7a-9c39-6d2f8f1e0a11',
    0.1,
  ]
  const insert = `INSERT INTO kinds VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`
  const mine = await ours(insert, row)
  const theirsInsert = await pg.query(insert, [2, ...row.slice(1)])
  assert.equal(mine.affectedRows, 1)
  assert.equal(mine.affectedRows, theirsInsert.affectedRows)
  await pg.query('INSERT INTO kinds (id) VALUES (3)') // every other column null

  for (const [sql, params] of [
    ['SELECT * FROM kinds ORDER BY id', []],
    [
      'SELECT id, doc -> $1 AS picked, txt FROM kinds WHERE id = ANY($2::int[]) ORDER BY id',
      ['nested', [1, 3]],
    ],
    ['SELECT * FROM kinds WHERE id = $1', [42]], // no row
    ['SELECT count(*) AS n, sum(score) AS total, max(at) AS latest FROM kinds', []],
    ['UPDATE kinds SET ok = NOT ok WHERE id <= $1', [2]],
  ] as const) {
    const a = await ours(sql, [...params])
    const b = await pg.query(sql, [...params])
    assert.deepEqual(a.rows, b.rows, sql)
    assert.equal(a.affectedRows, b.affectedRows, sql)
    assert.deepEqual(a.fields, b.fields, sql)
  }
  // a delete, each side on a row of its own
  await pg.query('INSERT INTO kinds (id) VALUES (4)')
  const deleteOne = 'DELETE FROM kinds WHERE id = $1 RETURNING id, txt'
  const a = await ours(deleteOne, [3])
  const b = await pg.query(deleteOne, [4])
  assert.deepEqual(a.rows, [{ id: 3, txt: null }])
  assert.deepEqual(b.rows, [{ id: 4, txt: null }])
  assert.equal(a.affectedRows, b.affectedRows)
})

test('an error in the answer is PGlite’s DatabaseError with its fields; the next call is answered', async (t) => {
  const pg = await PGlite.create()
  t.after(() => pg.close())
  const statements = new PreparedStatements(pg)
  const ours = (sql: string, params: unknown[] = []) => pg.runExclusive(() => statements.query(sql, params))
  await pg.exec('CREATE TABLE items (id int CONSTRAINT items_pk PRIMARY KEY, n int CHECK (n > 0))')
  await ours('INSERT INTO items VALUES ($1, $2)', [1, 1])
  const conflict = await ours('INSERT INTO items VALUES ($1, $2)', [1, 1]).catch((e: unknown) => e)
  // what PGlite's own query throws
  assert.ok(conflict instanceof messages.DatabaseError)
  assert.match(conflict.message, /duplicate key value violates unique constraint "items_pk"/)
  assert.deepEqual(
    {
      code: (conflict as { code?: string }).code,
      constraint: (conflict as { constraint?: string }).constraint,
      table: (conflict as { table?: string }).table,
    },
    { code: '23505', constraint: 'items_pk', table: 'items' },
  )
  await assert.rejects(ours('INSERT INTO items VALUES ($1, $2)', [2, -1]), { code: '23514' })
  await assert.rejects(ours('SELECT $1::int AS n', ['not a number']), { code: '22P02' })
  assert.deepEqual((await ours('SELECT count(*)::int AS n FROM items')).rows, [{ n: 1 }])
})
