import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import diagnostics from 'node:diagnostics_channel'
import { after, beforeEach, test } from 'node:test'
import { migrate } from '../../../../src/adapters/db/migrate.ts'
import { openPgliteDatabase } from '../../../../src/adapters/db/pglite/pglite-database.ts'
import { EventLogStore } from '../../../../src/adapters/events/event-log-store.ts'
import { SqlOutbox } from '../../../../src/adapters/events/sql-outbox.ts'
import { channels } from '../../../../src/core/diagnostics.ts'
import { createEnvelope, type OnexEnvelopeV1 } from '../../../../src/core/events/envelope.ts'
import { dlqTopicNames, topicName } from '../../../../src/core/events/topics.ts'
import type { DeadLetter, DeliveredEvent } from '../../../../src/ports/event-bus.ts'
import { DlqMonitor, dlqMonitorGroup } from '../../../../src/runtime/events/dlq-monitor.ts'
import { RecordingBus } from '../../../helpers/recording-bus.ts'

const db = await openPgliteDatabase()
await migrate(db)
after(() => db.close())
beforeEach(() => db.query('TRUNCATE event_outbox, event_logs, processed_events RESTART IDENTITY'))

const source = { nodeId: 'test@host', version: '1', environment: 'development' }
const stampTopic = topicName('development', 'metadataStampCreated')
const heartbeatTopic = topicName('development', 'nodeHeartbeat')

function original(session?: string): OnexEnvelopeV1 {
  return createEnvelope(
    source,
    {
      eventType: 'METADATA_STAMP_CREATED',
      payload: {},
      correlationId: randomUUID(),
      ...(session ? { metadata: { session_id: session } } : {}),
    },
    { eventId: randomUUID(), now: new Date() },
  )
}

function deadLetter(
  topic: string,
  data: string,
  reason = 'handler failed',
  failedAt = clockNow.ms,
): DeliveredEvent {
  const record: DeadLetter = {
    original_topic: topic,
    original_key: 'k',
    original_data: data,
    failure_reason: reason,
    failure_timestamp: new Date(failedAt).toISOString(),
    retry_attempts: 5,
  }
  return {
    topic: `${topic}.dlq`,
    partition: 0,
    offset: 0n,
    key: 'k',
    attempt: 1,
    envelope: createEnvelope(
      source,
      { eventType: 'DEAD_LETTER', payload: { ...record } },
      {
        eventId: randomUUID(),
        now: new Date(),
      },
    ),
  }
}

/** What the monitors' clocks say (and the failure time of the dead letters made here). */
const clockNow = { ms: Date.now() }

function monitor(now: { ms: number }, bus = new RecordingBus()) {
  const store = new EventLogStore(db)
  const outbox = new SqlOutbox(db)
  const warnings: Array<{ obj: object; msg?: string }> = []
  const m = new DlqMonitor({
    bus,
    db,
    store,
    outbox,
    clock: { now: () => new Date(now.ms) },
    logger: {
      debug: () => {},
      info: () => {},
      warn: (obj, msg) => warnings.push({ obj, ...(msg ? { msg } : {}) }),
      error: () => {},
    },
    environment: 'development',
    source,
    threshold: 3,
    windowMs: 10_000,
  })
  return { m, store, warnings }
}

const alerts = async () =>
  (
    await db.query<{ envelope: OnexEnvelopeV1 }>(
      'SELECT envelope FROM event_outbox WHERE topic = $1 ORDER BY id',
      [topicName('development', 'dlqAlert')],
    )
  ).rows.map((r) => r.envelope)

test('it watches every dead-letter topic of the catalogue in its own group', async () => {
  const bus = new RecordingBus()
  const subscribe = bus.subscribe.bind(bus)
  let options: Parameters<RecordingBus['subscribe']>[0] | undefined
  bus.subscribe = (o) => {
    options = o
    return subscribe(o)
  }
  const { m } = monitor(clockNow, bus)
  await m.start()
  await m.stop()
  assert.equal(options?.groupId, dlqMonitorGroup)
  assert.deepEqual(options?.topics, dlqTopicNames('development'))
  assert.ok(options!.topics.includes(`${stampTopic}.dlq`))
  assert.ok(options!.topics.every((t) => t.endsWith('.dlq')))
})

test('more than the threshold within the window: one warning, one alert metric, one DLQ_ALERT', async () => {
  const now = clockNow
  now.ms = Date.parse('2026-01-01T00:00:00Z')
  const { m, warnings } = monitor(now)
  const seen: unknown[] = []
  const onDead = (msg: unknown) => seen.push(msg)
  const alerted: unknown[] = []
  const onAlert = (msg: unknown) => alerted.push(msg)
  diagnostics.subscribe(channels.deadLetter.name, onDead)
  diagnostics.subscribe(channels.dlqAlert.name, onAlert)
  after(() => {
    diagnostics.unsubscribe(channels.deadLetter.name, onDead)
    diagnostics.unsubscribe(channels.dlqAlert.name, onAlert)
  })

  // three per window is the threshold: 3 spread over more than a window, then 4 within one
  for (const at of [0, 6000, 12_000]) {
    now.ms += at === 0 ? 0 : 6000
    await m.handle(deadLetter(stampTopic, JSON.stringify(original())))
  }
  assert.equal((await alerts()).length, 0)
  await m.handle(deadLetter(heartbeatTopic, JSON.stringify(original())))
  now.ms += 1000
  await m.handle(deadLetter(stampTopic, JSON.stringify(original()), 'the last reason'))
  assert.equal((await alerts()).length, 0, '3 of the stamp topic within 10 s: at the threshold, not above')
  now.ms += 1000
  await m.handle(deadLetter(stampTopic, JSON.stringify(original()), 'the last reason'))
  const [alert] = await alerts()
  assert.equal(alert?.event_type, 'DLQ_ALERT')
  assert.equal(alert?.payload['dlq_topic'], `${stampTopic}.dlq`)
  assert.equal(alert?.payload['count'], 4)
  assert.equal(alert?.payload['last_failure_reason'], 'the last reason')
  assert.equal(alert?.partition_key, `${stampTopic}.dlq`)
  assert.equal(warnings.length, 1)
  assert.match(warnings[0]!.msg ?? '', /4 dead letters on .*metadata-stamp-created.*within 10 s/)
  assert.equal(alerted.length, 1)
  assert.equal(seen.length, 6)

  now.ms += 1000
  await m.handle(deadLetter(stampTopic, JSON.stringify(original())))
  assert.equal((await alerts()).length, 1, 'quiet for the rest of the window')
})

test('a redelivered dead letter is logged once; an unreadable original is still logged', async () => {
  const { m, store } = monitor(clockNow)
  const first = original('sess-9')
  const letter = deadLetter(stampTopic, JSON.stringify(first))
  await m.handle(letter)
  await m.handle({ ...letter, attempt: 2 })
  await m.handle(deadLetter(stampTopic, 'not json at all', 'invalid envelope'))
  const rows = await store.list({ direction: 'dead_lettered', limit: 10 })
  assert.equal(rows.length, 2)
  assert.equal(rows[0]!.event_id, first.event_id)
  assert.equal(rows[0]!.event_type, 'METADATA_STAMP_CREATED')
  assert.equal(rows[0]!.session_id, 'sess-9')
  assert.equal(rows[0]!.correlation_id, first.correlation_id)
  assert.equal(rows[0]!.attempt, 5)
  assert.equal(rows[1]!.event_type, 'UNREADABLE_EVENT')
  assert.equal(rows[1]!.error, 'invalid envelope')
  assert.equal(rows[1]!.payload['original_data'], 'not json at all')
})

test('a backlog of old dead letters (a new monitor group) is logged and counted, but raises no alert', async () => {
  clockNow.ms = Date.parse('2026-03-01T00:00:00Z')
  const { m, store } = monitor(clockNow)
  const longAgo = clockNow.ms - 86_400_000
  for (let i = 0; i < 10; i++)
    await m.handle(deadLetter(stampTopic, JSON.stringify(original()), 'old failure', longAgo + i))
  assert.equal((await store.list({ direction: 'dead_lettered', limit: 20 })).length, 10)
  assert.equal((await alerts()).length, 0)
  for (let i = 0; i < 4; i++)
    await m.handle(deadLetter(stampTopic, JSON.stringify(original()), 'new failure'))
  assert.equal((await alerts()).length, 1, 'four recent ones are above the threshold of 3')
})
