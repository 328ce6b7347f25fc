import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { after, beforeEach, test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { migrate } from '../../../../src/adapters/db/migrate.ts'
import { openPgliteDatabase } from '../../../../src/adapters/db/pglite/pglite-database.ts'
import { processOnce, withEventLog } from '../../../../src/adapters/events/consumers.ts'
import { EventLogRecorder } from '../../../../src/adapters/events/event-log-recorder.ts'
import { EventLogStore, type NewEventLogEntry } from '../../../../src/adapters/events/event-log-store.ts'
import { ConflictError } from '../../../../src/core/errors.ts'
import { createEnvelope } from '../../../../src/core/events/envelope.ts'
import type { Database, Queryable } from '../../../../src/ports/database.ts'
import type { DeliveredEvent } from '../../../../src/ports/event-bus.ts'
import { dialects, postgresBackend, skipReason, testDatabaseUrl } from '../../../helpers/database-backends.ts'

const db = await openPgliteDatabase()
await migrate(db)
after(() => db.close())
beforeEach(() => db.query('TRUNCATE event_outbox, event_logs, processed_events RESTART IDENTITY'))
const store = new EventLogStore(db)

const delivered = (n: number, over: Partial<DeliveredEvent> = {}): DeliveredEvent => ({
  topic: 'dev.omninode_bridge.onex.evt.node-heartbeat.v1',
  partition: 2,
  offset: 9_007_199_254_740_000n + BigInt(n),
  key: 'k',
  attempt: 1,
  envelope: createEnvelope(
    { nodeId: 'registry@host', version: '1', environment: 'development' },
    { eventType: 'NODE_HEARTBEAT', payload: { n, session_id: 'sess-1' }, correlationId: randomUUID() },
    { eventId: randomUUID(), now: new Date() },
  ),
  ...over,
})

const entry = (over: Partial<NewEventLogEntry>): NewEventLogEntry => ({
  event_id: randomUUID(),
  event_type: 'X',
  topic: 't',
  direction: 'published',
  status: 'ok',
  ...over,
})

test('processOnce runs a consumer change once per (group, event); a failed change can run again', async () => {
  await db.query('CREATE TEMP TABLE counter (n int)')
  const eventId = randomUUID()
  const bump = (tx: Queryable) => tx.query('INSERT INTO counter VALUES (1)').then(() => 'done')
  assert.deepEqual(await processOnce(db, 'g1', eventId, bump), { duplicate: false, value: 'done' })
  assert.deepEqual(await processOnce(db, 'g1', eventId, bump), { duplicate: true })
  assert.deepEqual(await processOnce(db, 'g2', eventId, bump), { duplicate: false, value: 'done' })

  const other = randomUUID()
  await assert.rejects(
    processOnce(db, 'g1', other, async (tx) => {
      await tx.query('INSERT INTO counter VALUES (1)')
      throw new ConflictError('handler failed')
    }),
    ConflictError,
  )
  assert.deepEqual(await processOnce(db, 'g1', other, bump), { duplicate: false, value: 'done' })
  const { rows } = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM counter')
  assert.equal(rows[0]!.n, 3, 'g1 twice (once per event), g2 once; the failed change was rolled back')
  const marks = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM processed_events')
  assert.equal(marks.rows[0]!.n, 3)
  await db.query('DROP TABLE counter')
})

test('withEventLog records each attempt (ok or failed with its error) off the hot path', async () => {
  const recorder = new EventLogRecorder(store, { flushIntervalMs: 60_000 })
  let calls = 0
  const handler = withEventLog(recorder, 'reducer', async (event) => {
    calls++
    if (event.attempt === 1) throw new Error('not yet')
  })
  const event = delivered(1)
  await assert.rejects(handler(event), /not yet/)
  await handler({ ...event, attempt: 2 })
  assert.equal(calls, 2)
  assert.deepEqual(await store.list({ limit: 10 }), [], 'nothing written before a flush')
  await recorder.stop()

  const rows = await store.list({ limit: 10 })
  assert.deepEqual(
    rows.map((r) => [r.direction, r.consumer_group, r.attempt, r.status, r.error]),
    [
      ['consumed', 'reducer', 1, 'failed', 'not yet'],
      ['consumed', 'reducer', 2, 'ok', null],
    ],
  )
  const first = rows[0]!
  assert.equal(first.event_id, event.envelope.event_id)
  assert.equal(first.correlation_id, event.envelope.correlation_id)
  assert.equal(first.session_id, 'sess-1')
  assert.equal(first.partition, 2)
  assert.equal(first.offset, 9_007_199_254_740_001)
  assert.equal(first.source_node_id, 'registry@host')
  assert.ok(first.duration_ms !== null && first.duration_ms >= 0)
  assert.deepEqual(first.payload, { n: 1, session_id: 'sess-1' })
})

test('the recorder flushes by size and by timer, and keeps a bounded buffer while the database is away', async () => {
  const errors: unknown[] = []
  const recorder = new EventLogRecorder(store, {
    batchSize: 3,
    flushIntervalMs: 20,
    maxBuffered: 4,
    onError: (e) => errors.push(e),
  })

  for (let i = 0; i < 3; i++) recorder.record(entry({ event_type: `E${i}` }))
  await recorder.flush()
  assert.equal((await store.list({ limit: 10 })).length, 3)

  await db.query('ALTER TABLE event_logs RENAME TO event_logs_away')
  for (let i = 3; i < 9; i++) recorder.record(entry({ event_type: `E${i}` }))
  await sleep(60)
  assert.ok(errors.length >= 1)
  assert.equal(recorder.dropped, 2)
  await db.query('ALTER TABLE event_logs_away RENAME TO event_logs')
  await recorder.stop()
  const types = (await store.list({ limit: 20 })).map((r) => r.event_type)
  assert.deepEqual(types, ['E0', 'E1', 'E2', 'E5', 'E6', 'E7', 'E8'])
})

test('list filters by correlation, session, topic, direction and time; without since it is the latest, oldest first', async () => {
  const correlation = randomUUID()
  await store.insert([
    entry({ event_type: 'A', correlation_id: correlation, recorded_at: '2026-01-01T00:00:01Z' }),
    entry({ event_type: 'B', session_id: 's1', topic: 'u', recorded_at: '2026-01-01T00:00:02Z' }),
    entry({
      event_type: 'C',
      direction: 'dead_lettered',
      status: 'failed',
      recorded_at: '2026-01-01T00:00:03Z',
    }),
    entry({ event_type: 'D', session_id: 's1', recorded_at: '2026-01-01T00:00:04Z' }),
  ])
  const types = async (filter: Parameters<EventLogStore['list']>[0]) =>
    (await store.list(filter)).map((r) => r.event_type)
  assert.deepEqual(await types({ limit: 10 }), ['A', 'B', 'C', 'D'])
  assert.deepEqual(await types({ limit: 2 }), ['C', 'D'], 'the latest two, oldest first')
  assert.deepEqual(await types({ limit: 2, since: '2026-01-01T00:00:02Z' }), ['B', 'C'])
  assert.deepEqual(await types({ limit: 10, correlation_id: correlation }), ['A'])
  assert.deepEqual(await types({ limit: 10, session_id: 's1' }), ['B', 'D'])
  assert.deepEqual(await types({ limit: 10, session_id: 's1', topic: 'u' }), ['B'])
  assert.deepEqual(await types({ limit: 10, direction: 'dead_lettered' }), ['C'])
  assert.deepEqual(
    (await store.session('s1', 10)).map((r) => r.event_type),
    ['B', 'D'],
  )
})

test('retention prunes old log entries, dead letters later, and old dedup marks; never the outbox', async () => {
  const now = new Date('2026-06-01T00:00:00Z')
  const daysAgo = (d: number) => new Date(now.getTime() - d * 86_400_000).toISOString()
  await store.insert([
    entry({ event_type: 'old', recorded_at: daysAgo(10) }),
    entry({ event_type: 'new', recorded_at: daysAgo(1) }),
    entry({ event_type: 'old-dead', direction: 'dead_lettered', status: 'failed', recorded_at: daysAgo(10) }),
    entry({
      event_type: 'ancient-dead',
      direction: 'dead_lettered',
      status: 'failed',
      recorded_at: daysAgo(40),
    }),
  ])
  await db.query("INSERT INTO event_outbox (topic, key, envelope, created_at) VALUES ('t', 'k', '{}', $1)", [
    daysAgo(400),
  ])
  await db.query(
    'INSERT INTO processed_events (consumer_group, event_id, processed_at) VALUES ($1, $2, $3), ($1, $4, $5)',
    ['g', randomUUID(), daysAgo(40), randomUUID(), daysAgo(1)],
  )
  const day = 86_400_000
  const deleted = await store.prune({ logMs: 7 * day, deadLetterMs: 30 * day, processedMs: 30 * day }, now)
  assert.deepEqual(deleted, { event_logs: 2, processed_events: 1 })
  assert.deepEqual(
    (await store.list({ limit: 10 })).map((r) => r.event_type),
    ['old-dead', 'new'],
  )
  const unsent = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM event_outbox')
  assert.equal(unsent.rows[0]!.n, 1, 'an unsent event is never pruned, however old')
})

for (const dialect of dialects)
  test(`retention deletes in batches, oldest first; a stopped prune leaves the rest to the next (${dialect})`, {
    skip: skipReason(dialect),
  }, async (t) => {
    const target = dialect === 'pglite' ? db : await (await postgresBackend(t, testDatabaseUrl!)).fresh(t)
    if (dialect === 'postgres') await migrate(target)
    const batched = new EventLogStore(target)
    const now = new Date('2026-06-01T00:00:00Z')
    const daysAgo = (d: number) => new Date(now.getTime() - d * 86_400_000).toISOString()
    await batched.insert([
      ...Array.from({ length: 7 }, (_, i) => entry({ event_type: `old${i}`, recorded_at: daysAgo(20 - i) })),
      ...Array.from({ length: 3 }, (_, i) =>
        entry({
          event_type: `dead${i}`,
          direction: 'dead_lettered',
          status: 'failed',
          recorded_at: daysAgo(40 - i),
        }),
      ),
      entry({
        event_type: 'kept-dead',
        direction: 'dead_lettered',
        status: 'failed',
        recorded_at: daysAgo(10),
      }),
      entry({ event_type: 'new', recorded_at: daysAgo(1) }),
    ])
    const day = 86_400_000
    const retention = { logMs: 7 * day, deadLetterMs: 30 * day, processedMs: 30 * day }
    const types = async () => (await batched.list({ limit: 100 })).map((r) => r.event_type)
    // the store sees only query: one that counts the statements, and one that stops after the first
    const statements: string[] = []
    const counted = (after?: () => void) =>
      ({
        query: async (sql: string, params?: readonly unknown[]) => {
          statements.push(sql)
          const result = await target.query(sql, params)
          after?.()
          return result
        },
      }) as unknown as Database
    const stop = new AbortController()
    const stopped = await new EventLogStore(counted(() => stop.abort())).prune(retention, now, {
      batchSize: 2,
      signal: stop.signal,
    })
    assert.deepEqual(stopped, { event_logs: 2, processed_events: 0 }, 'one batch, then nothing more')
    assert.deepEqual(await types(), [
      'dead0',
      'dead1',
      'dead2',
      'old2',
      'old3',
      'old4',
      'old5',
      'old6',
      'kept-dead',
      'new',
    ])
    statements.length = 0
    assert.deepEqual(await new EventLogStore(counted()).prune(retention, now, { batchSize: 2 }), {
      event_logs: 8,
      processed_events: 0,
    })
    assert.deepEqual(await types(), ['kept-dead', 'new'])
    // 5 old entries in batches of 2 (3), 3 dead letters (2), the dedup marks (1)
    assert.equal(statements.length, 6)
  })

for (const dialect of dialects)
  test(`insert keeps every field of every entry, in order, awkward text included (${dialect})`, {
    skip: skipReason(dialect),
  }, async (t) => {
    const target = dialect === 'pglite' ? db : await (await postgresBackend(t, testDatabaseUrl!)).fresh(t)
    if (dialect === 'postgres') await migrate(target)
    else await db.query('TRUNCATE event_logs RESTART IDENTITY')
    const awkward = 'quote " backslash \\ braces {a,b} comma, NULL, tab\t newline\n é 😀'
    const full = entry({
      event_type: 'FULL',
      topic: awkward,
      partition: 7,
      offset: 9_007_199_254_740_993n,
      direction: 'consumed',
      consumer_group: 'g',
      correlation_id: randomUUID(),
      causation_id: randomUUID(),
      session_id: 'NULL',
      source_node_id: 'n@h',
      status: 'failed',
      error: awkward,
      attempt: 3,
      duration_ms: 12.25,
      event_timestamp: '2026-01-01T00:00:00.123Z',
      payload: { text: awkward, nested: { list: [1, null, 'x'] }, n: 1.5 },
      recorded_at: '2026-01-01T00:00:01.000001Z',
    })
    const bare = entry({ event_type: 'BARE' })
    const entries = [full, bare, ...Array.from({ length: 50 }, (_, i) => entry({ event_type: `E${i}` }))]
    await new EventLogStore(target).insert(entries)
    const rows = await new EventLogStore(target).list({ limit: 100 })
    assert.deepEqual(rows.map((r) => r.event_type).sort(), entries.map((e) => e.event_type).sort())
    const { rows: ordered } = await target.query<{ event_type: string }>(
      'SELECT event_type FROM event_logs ORDER BY id',
    )
    assert.deepEqual(
      ordered.map((r) => r.event_type),
      entries.map((e) => e.event_type),
      'ids follow the order given',
    )
    const got = rows.find((r) => r.event_type === 'FULL')!
    assert.deepEqual(
      {
        topic: got.topic,
        partition: got.partition,
        offset: got.offset,
        direction: got.direction,
        consumer_group: got.consumer_group,
        correlation_id: got.correlation_id,
        causation_id: got.causation_id,
        session_id: got.session_id,
        source_node_id: got.source_node_id,
        status: got.status,
        error: got.error,
        attempt: got.attempt,
        duration_ms: got.duration_ms,
        event_timestamp: got.event_timestamp,
        payload: got.payload,
        recorded_at: got.recorded_at,
      },
      {
        topic: awkward,
        partition: 7,
        offset: Number(9_007_199_254_740_993n),
        direction: 'consumed',
        consumer_group: 'g',
        correlation_id: full.correlation_id,
        causation_id: full.causation_id,
        session_id: 'NULL',
        source_node_id: 'n@h',
        status: 'failed',
        error: awkward,
        attempt: 3,
        duration_ms: 12.25,
        event_timestamp: '2026-01-01T00:00:00.123Z',
        payload: full.payload,
        recorded_at: '2026-01-01T00:00:01.000001Z',
      },
    )
    const { rows: exact } = await target.query<{ offset: string }>(
      `SELECT "offset"::text AS offset FROM event_logs WHERE event_type = 'FULL'`,
    )
    assert.equal(exact[0]!.offset, '9007199254740993', 'a bigint offset beyond 2^53 is kept exactly')
    const b = rows.find((r) => r.event_type === 'BARE')!
    assert.deepEqual(
      [
        b.partition,
        b.offset,
        b.consumer_group,
        b.correlation_id,
        b.error,
        b.attempt,
        b.duration_ms,
        b.payload,
      ],
      [null, null, null, null, null, null, null, {}],
    )
  })
