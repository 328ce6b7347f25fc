import assert from 'node:assert/strict'
import { type TestContext, test } from 'node:test'
import { SqlOutbox } from '../../../../src/adapters/events/sql-outbox.ts'
import { publishedTopics } from '../../../../src/core/contracts/parse.ts'
import { InvalidInputError } from '../../../../src/core/errors.ts'
import { loadBlake3 } from '../../../../src/core/hashing/blake3.ts'
import { StampingEvents } from '../../../../src/nodes/stamping/events.ts'
import { StampingService, type StampRequest } from '../../../../src/nodes/stamping/service.ts'
import { StampStore } from '../../../../src/nodes/stamping/store.ts'
import { systemClock } from '../../../../src/ports/clock.ts'
import type { Database } from '../../../../src/ports/database.ts'
import { loadNodeContract } from '../../../../src/runtime/contracts.ts'
import { dialects, migratedDatabase, skipReason } from '../../../helpers/database-backends.ts'

/** The service on a fresh database whose transactions (top level: what a commit costs) are counted. */
async function serviceOn(t: TestContext, dialect: (typeof dialects)[number]) {
  const db = await migratedDatabase(t, dialect)
  const outbox = new SqlOutbox(db)
  t.after(() => outbox.close())
  const counted = { transactions: 0 }
  const counting: Database = new Proxy(db, {
    get(target, key, receiver) {
      if (key === 'transaction') {
        return (fn: Parameters<Database['transaction']>[0]) => {
          counted.transactions++
          return target.transaction(fn)
        }
      }
      const value = Reflect.get(target, key, receiver)
      return typeof value === 'function' ? value.bind(target) : value
    },
  })
  const service = new StampingService({
    store: new StampStore(counting),
    blake3: await loadBlake3(),
    clock: systemClock,
    outbox,
    events: new StampingEvents(
      {
        source: { nodeId: 'stamping@test', version: '0', environment: 'development' },
        environment: 'development',
        topics: publishedTopics(loadNodeContract('stamping')),
      },
      systemClock,
    ),
    options: { batchConcurrency: 8 },
  })
  return { db, service, counted }
}

const request = (content: string, extra: Partial<StampRequest> = {}): StampRequest => ({
  content: new TextEncoder().encode(content),
  namespace: 'onex.test.group',
  stampType: 'lightweight',
  filePath: 'a.py',
  ...extra,
})

async function countRows(db: Database, table: string): Promise<number> {
  const { rows } = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table}`)
  return rows[0]!.n
}

for (const dialect of dialects) {
  test(`concurrent stamps share transactions; each is stored once with its event, the same content keeps one identity (${dialect})`, {
    skip: skipReason(dialect),
  }, async (t) => {
    const { db, service, counted } = await serviceOn(t, dialect)
    const requests = [
      ...Array.from({ length: 30 }, (_, i) => request(`x = ${i}\n`)),
      request('x = 0\n'),
      request('x = 0\n'),
    ]
    const outcomes = await Promise.all(requests.map((r) => service.stamp(r)))

    assert.ok(
      counted.transactions < requests.length / 4,
      `${requests.length} stamps took ${counted.transactions} transactions`,
    )
    assert.equal(outcomes.filter((o) => o.created).length, 30)
    const first = outcomes[0]!
    for (const again of outcomes.slice(30)) {
      assert.equal(again.created, false)
      assert.equal(again.record.id, first.record.id)
      assert.equal(again.record.stamp_data['uid'], first.record.stamp_data['uid'])
      assert.deepEqual(again.stampedContent, first.stampedContent)
    }
    assert.equal(await countRows(db, 'metadata_stamps'), 30)
    // one METADATA_STAMP_CREATED per stamp call, in the outbox (no relay runs here)
    assert.equal(await countRows(db, 'event_outbox'), requests.length)
  })

  test(`a bad stamp request among concurrent ones fails alone, before any transaction (${dialect})`, {
    skip: skipReason(dialect),
  }, async (t) => {
    const { db, service, counted } = await serviceOn(t, dialect)
    const results = await Promise.allSettled([
      service.stamp(request('a = 1\n')),
      service.stamp(request('b = 2\n', { namespace: 'not a namespace' })),
      service.stamp(request('\x89PNG\r\n\x1a\n', { filePath: 'pictures/', contentType: 'image/png' })),
      service.stamp(request('c = 3\n')),
    ])
    assert.deepEqual(
      results.map((r) => r.status),
      ['fulfilled', 'rejected', 'rejected', 'fulfilled'],
    )
    for (const r of results.filter((r) => r.status === 'rejected')) {
      assert.ok(r.reason instanceof InvalidInputError, String(r.reason))
    }
    assert.equal(
      counted.transactions,
      1,
      'the two good stamps commit together, the bad ones never reach the database',
    )
    assert.equal(await countRows(db, 'metadata_stamps'), 2)
  })

  test(`a group that fails in the database is written again item by item: only the failing one fails (${dialect})`, {
    skip: skipReason(dialect),
  }, async (t) => {
    const { db, service } = await serviceOn(t, dialect)
    // a file_path the table refuses (the store's own check), which the stamp itself accepts
    await db.query(
      `ALTER TABLE metadata_stamps ADD CONSTRAINT test_no_refused CHECK (file_path <> 'refused.py')`,
    )
    const results = await Promise.allSettled([
      service.stamp(request('a = 1\n')),
      service.stamp(request('b = 2\n', { filePath: 'refused.py' })),
      service.stamp(request('c = 3\n')),
    ])
    assert.deepEqual(
      results.map((r) => r.status),
      ['fulfilled', 'rejected', 'fulfilled'],
    )
    assert.equal(await countRows(db, 'metadata_stamps'), 2)
    assert.equal(await countRows(db, 'event_outbox'), 2)
  })
}
