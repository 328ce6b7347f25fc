import assert from 'node:assert/strict'
import { test } from 'node:test'
import { openPgliteDatabase } from '../../../src/adapters/db/pglite/pglite-database.ts'
import { GroupCommit } from '../../../src/core/group-commit.ts'
import type { Queryable } from '../../../src/ports/database.ts'

test('concurrent writes share a transaction; a bad item fails alone, the rest commit', async (t) => {
  const db = await openPgliteDatabase()
  t.after(() => db.close())
  await db.query('CREATE TABLE items (n integer PRIMARY KEY CHECK (n >= 0))')
  const groups: number[][] = []
  let commits = 0
  const writer = new GroupCommit<number, number, Queryable>({
    transaction: (fn) => db.transaction(fn),
    committed: () => commits++,
    write: async (tx, items) => {
      groups.push(items)
      await tx.query('INSERT INTO items SELECT jsonb_array_elements_text($1::jsonb)::int', [
        JSON.stringify(items),
      ])
      return items.map((n) => n * 10)
    },
  })

  const first = await Promise.all([1, 2, 3].map((n) => writer.submit(n)))
  assert.deepEqual(first, [10, 20, 30])
  assert.deepEqual(groups, [[1, 2, 3]], 'one transaction for the three')
  assert.equal(commits, 1)

  const settled = await Promise.allSettled([4, -5, 6].map((n) => writer.submit(n)))
  assert.deepEqual(
    settled.map((s) => s.status),
    ['fulfilled', 'rejected', 'fulfilled'],
  )
  const { rows } = await db.query<{ n: number }>('SELECT n FROM items ORDER BY n')
  assert.deepEqual(
    rows.map((r) => r.n),
    [1, 2, 3, 4, 6],
  )
  // the group failed, then each was written alone
  assert.deepEqual(groups.slice(1), [[4, -5, 6], [4], [-5], [6]])
})

test('items that come while the transaction waits for its connection join it', async () => {
  const groups: number[][] = []
  let connectionFree!: () => void
  const connection = new Promise<void>((resolve) => {
    connectionFree = resolve
  })
  const writer = new GroupCommit<number, number, null>({
    // the first transaction waits for its connection, as one behind others does on PGlite
    transaction: async (fn) => {
      await connection
      return fn(null)
    },
    write: async (_tx, items) => {
      groups.push(items)
      return items
    },
  })
  const first = writer.submit(1)
  await new Promise((resolve) => setImmediate(resolve))
  const later = [writer.submit(2), writer.submit(3)]
  connectionFree()
  assert.deepEqual(await Promise.all([first, ...later]), [1, 2, 3])
  assert.deepEqual(groups, [[1, 2, 3]])
})

test('a transaction that runs its body again writes the same group; one that never runs it fails its items', async () => {
  const groups: number[][] = []
  let attempts = 0
  const retrying = new GroupCommit<number, number, null>({
    // a transaction retried (a serialization failure): the body runs twice
    transaction: async (fn) => {
      await fn(null)
      return fn(null)
    },
    write: async (_tx, items) => {
      attempts++
      groups.push(items)
      return items
    },
  })
  assert.deepEqual(await Promise.all([retrying.submit(1), retrying.submit(2)]), [1, 2])
  assert.equal(attempts, 2)
  assert.deepEqual(groups, [
    [1, 2],
    [1, 2],
  ])

  const down = new GroupCommit<number, number, null>({
    transaction: () => Promise.reject(new Error('no connection')),
    write: async (_tx, items) => items,
  })
  const settled = await Promise.allSettled([down.submit(1), down.submit(2)])
  assert.deepEqual(
    settled.map((s) => (s.status === 'rejected' ? (s.reason as Error).message : s.status)),
    ['no connection', 'no connection'],
  )
})
