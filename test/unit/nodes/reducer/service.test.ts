import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { type TestContext, test } from 'node:test'
import pino from 'pino'
import { migrate } from '../../../../src/adapters/db/migrate.ts'
import { openPgliteDatabase } from '../../../../src/adapters/db/pglite/pglite-database.ts'
import { SqlOutbox } from '../../../../src/adapters/events/sql-outbox.ts'
import { checkBatchFsm } from '../../../../src/core/aggregation/batch-fsm.ts'
import { aggregationSettings } from '../../../../src/core/aggregation/settings.ts'
import { publishedTopics } from '../../../../src/core/contracts/parse.ts'
import { DatabaseError, InvalidInputError } from '../../../../src/core/errors.ts'
import { createEnvelope } from '../../../../src/core/events/envelope.ts'
import { ReducerEvents } from '../../../../src/nodes/reducer/events.ts'
import { ReducerService } from '../../../../src/nodes/reducer/service.ts'
import { ReducerStore } from '../../../../src/nodes/reducer/store.ts'
import { systemClock } from '../../../../src/ports/clock.ts'
import type { DeliveredEvent } from '../../../../src/ports/event-bus.ts'
import { reducerContract } from '../../core/aggregation/fixtures.ts'

const source = { nodeId: 'stamping@test', version: '0', environment: 'development' }
const topic = 'dev.omninode_bridge.onex.evt.metadata-stamp-created.v1'

/** The reducer's service on a real (in-memory) PGlite with every migration and the SQL outbox. */
async function service(t: TestContext, batchSize = 500) {
  const db = await openPgliteDatabase()
  t.after(() => db.close())
  await migrate(db)
  const outbox = new SqlOutbox(db)
  t.after(() => outbox.close())
  const contract = reducerContract()
  contract.aggregation!.batch_size = batchSize
  const store = new ReducerStore(db)
  const svc = new ReducerService({
    store,
    outbox,
    events: new ReducerEvents(
      { source, environment: 'development', topics: publishedTopics(contract) },
      systemClock,
    ),
    settings: aggregationSettings(contract),
    fsm: checkBatchFsm(contract),
    clock: systemClock,
    logger: pino({ level: 'silent' }),
    group: 'test-group',
  })
  const outboxTypes = async () =>
    (
      await db.query<{ t: string }>(`SELECT envelope->>'event_type' AS t FROM event_outbox ORDER BY id`)
    ).rows.map((r) => r.t)
  return { db, svc, store, outboxTypes }
}

let offset = 0n
function stampEvent(
  namespace: string,
  size: number,
  fields: Record<string, unknown> = {},
  partition = 0,
): DeliveredEvent {
  const hash = randomUUID().replaceAll('-', '').padEnd(64, '0')
  const envelope = createEnvelope(
    source,
    {
      eventType: 'METADATA_STAMP_CREATED',
      partitionKey: hash,
      payload: {
        file_hash: hash,
        namespace,
        stamp_type: 'lightweight',
        file_path: null,
        content_type: 'text/plain',
        file_size: size,
        created: true,
        ...fields,
      },
    },
    { eventId: randomUUID(), now: new Date() },
  )
  return { topic, partition, offset: offset++, key: hash, envelope, attempt: 1 }
}

test('a delivery is counted once, whole, with its watermark and its events', async (t) => {
  const { db, svc, outboxTypes } = await service(t, 2)
  const events = [stampEvent('omninode.a', 10), stampEvent('omninode.a', 20), stampEvent('omninode.b', 5)]
  const outcome = await svc.handleBatch(events)
  assert.deepEqual(
    outcome,
    { counted: 3, duplicates: 0, batches: 2 },
    'batch_size 2: two aggregation batches',
  )
  assert.equal((await svc.get('omninode.a')).total_size_bytes, 30)
  assert.deepEqual(await outboxTypes(), [
    ...[
      'AGGREGATION_STARTED',
      'BATCH_PROCESSED',
      'AGGREGATION_COMPLETED',
      'STATE_PERSISTED',
      'STATE_COMMITTED',
    ],
    ...[
      'AGGREGATION_STARTED',
      'BATCH_PROCESSED',
      'AGGREGATION_COMPLETED',
      'STATE_PERSISTED',
      'STATE_COMMITTED',
    ],
  ])
  const again = await svc.handleBatch([events[0]!, events[0]!, stampEvent('omninode.a', 1)])
  assert.deepEqual(
    again,
    { counted: 1, duplicates: 2, batches: 1 },
    'a repeated id counts once, even twice in one delivery',
  )
  assert.equal((await svc.get('omninode.a')).stamp_count, 3)
  const { watermarks } = await svc.list()
  assert.deepEqual(watermarks, [{ topic, partition: 0, offset: Number(offset - 1n), event_count: 4 }])
  const { rows } = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM action_dedup')
  assert.equal(rows[0]!.n, 4)
})

test('a failed transaction changes nothing, says AGGREGATION_FAILED, and the retry counts it', async (t) => {
  const { db, svc, outboxTypes } = await service(t)
  await svc.handleBatch([stampEvent('omninode.c', 1)])
  await db.query('DELETE FROM event_outbox')
  // the database refuses the new state (as a full disk or a lost connection would fail the commit)
  await db.query('ALTER TABLE bridge_states ADD CONSTRAINT at_most_two CHECK (stamp_count <= 2)')
  const batch = [stampEvent('omninode.c', 2), stampEvent('omninode.c', 3)]
  await assert.rejects(svc.handleBatch(batch), DatabaseError)
  assert.equal((await svc.get('omninode.c')).stamp_count, 1, 'the state is as before')
  assert.deepEqual(await outboxTypes(), ['AGGREGATION_FAILED'], 'nothing of the batch but its failure')
  const failure = await db.query<{ p: Record<string, unknown> }>(
    `SELECT envelope->'payload' AS p FROM event_outbox`,
  )
  assert.equal(failure.rows[0]!.p['failed_in'], 'persisting')
  assert.match(String(failure.rows[0]!.p['reason']), /rejected/)
  const marks = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM action_dedup')
  assert.equal(marks.rows[0]!.n, 1, 'the dedup marks rolled back with the state')
  await db.query('ALTER TABLE bridge_states DROP CONSTRAINT at_most_two')
  await svc.handleBatch(batch)
  assert.equal((await svc.get('omninode.c')).stamp_count, 3, 'redelivered, it counts')
})

test('a bad payload is refused naming the field, before anything is written', async (t) => {
  const { svc, outboxTypes } = await service(t)
  await assert.rejects(
    svc.handleBatch([stampEvent('omninode.d', 1), stampEvent('omninode.d', 1, { file_size: 'big' })]),
    (err: unknown) => err instanceof InvalidInputError && err.issues.some((i) => i.field === 'file_size'),
  )
  assert.deepEqual(await outboxTypes(), [])
  await assert.rejects(svc.get('omninode.d'), /no bridge state for namespace omninode.d/)
})

test('dedup marks older than the retention are pruned (in batches), newer ones kept', async (t) => {
  const { db } = await service(t)
  const store = new ReducerStore(db)
  await db.query(
    `INSERT INTO action_dedup (consumer_group, event_id, processed_at) VALUES
       ('g', $1, now() - interval '31 days'), ('g', $2, now() - interval '1 day'),
       ('g', $3, now() - interval '32 days'), ('h', $4, now() - interval '40 days')`,
    [randomUUID(), randomUUID(), randomUUID(), randomUUID()],
  )
  assert.equal(await store.pruneDedup(30 * 24 * 60 * 60 * 1000, { batchSize: 2 }), 3)
  const { rows } = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM action_dedup')
  assert.equal(rows[0]!.n, 1)
})

test('an event id in upper-case hex is counted, once', async (t) => {
  const { svc } = await service(t)
  const event = stampEvent('omninode.e', 7)
  const upper = { ...event, envelope: { ...event.envelope, event_id: event.envelope.event_id.toUpperCase() } }
  assert.deepEqual(await svc.handleBatch([upper]), { counted: 1, duplicates: 0, batches: 1 })
  assert.deepEqual(
    await svc.handleBatch([event, upper]),
    { counted: 0, duplicates: 2, batches: 0 },
    'the same id in either case is a duplicate',
  )
  assert.equal((await svc.get('omninode.e')).stamp_count, 1)
  const { watermarks } = await svc.list()
  assert.equal(watermarks[0]!.event_count, 1)
})

/** Counts the store's transactions. */
function countTransactions(store: ReducerStore): { n: number } {
  const count = { n: 0 }
  const transaction = store.transaction.bind(store)
  store.transaction = (fn) => {
    count.n++
    return transaction(fn)
  }
  return count
}

test('deliveries of two partitions handed over together commit in one transaction', async (t) => {
  const { svc, store } = await service(t)
  const transactions = countTransactions(store)
  const shared = stampEvent('omninode.f', 4, {}, 0)
  const p0 = [shared, stampEvent('omninode.f', 1, {}, 0)]
  // the bus redelivered `shared` on partition 1 too (a second publication by the relay)
  const p1 = [stampEvent('omninode.f', 2, {}, 1), { ...shared, partition: 1, offset: offset++ }]
  const [a, b] = await Promise.all([svc.handleBatch(p0), svc.handleBatch(p1)])
  assert.equal(transactions.n, 1)
  assert.deepEqual(a, { counted: 2, duplicates: 0, batches: 1 })
  assert.deepEqual(b, { counted: 1, duplicates: 1, batches: 1 }, 'the shared id counted once, first come')
  const state = await svc.get('omninode.f')
  assert.equal(state.stamp_count, 3)
  assert.equal(state.total_size_bytes, 7)
  const { watermarks } = await svc.list()
  assert.deepEqual(watermarks, [
    { topic, partition: 0, offset: Number(p0[1]!.offset), event_count: 2 },
    { topic, partition: 1, offset: Number(p1[1]!.offset), event_count: 1 },
  ])
})

test('a delivery that fails its group fails alone; the others in the group commit', async (t) => {
  const { db, svc, store, outboxTypes } = await service(t)
  await db.query(`ALTER TABLE bridge_states ADD CONSTRAINT no_g CHECK (namespace <> 'omninode.bad')`)
  const transactions = countTransactions(store)
  const good = [stampEvent('omninode.g', 1, {}, 0)]
  const bad = [stampEvent('omninode.bad', 1, {}, 1)]
  const [ok, failed] = await Promise.allSettled([svc.handleBatch(good), svc.handleBatch(bad)])
  assert.equal(transactions.n, 3, 'the group, then each alone')
  assert.deepEqual(ok.status === 'fulfilled' && ok.value, { counted: 1, duplicates: 0, batches: 1 })
  assert.ok(failed.status === 'rejected' && failed.reason instanceof DatabaseError)
  assert.equal((await svc.get('omninode.g')).stamp_count, 1)
  await assert.rejects(svc.get('omninode.bad'), /no bridge state/)
  const types = await outboxTypes()
  assert.equal(types.filter((x) => x === 'STATE_COMMITTED').length, 1)
  assert.equal(types.filter((x) => x === 'AGGREGATION_FAILED').length, 1)
  const { watermarks } = await svc.list()
  assert.deepEqual(
    watermarks.map((w) => w.partition),
    [0],
    'the failed partition did not move',
  )
})
