import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { type TestContext, test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import pino from 'pino'
import { withEventLog } from '../../src/adapters/events/consumers.ts'
import { topicName } from '../../src/core/events/topics.ts'
import { startTestBridge } from '../helpers/bridge.ts'
import { type Dialect, dialects, skipReason } from '../helpers/database-backends.ts'
import { RecordingBus } from '../helpers/recording-bus.ts'
import { until } from '../helpers/until.ts'

/** The stamping node alone: these cases count the event log exactly, and the reducer would add its own. */
const stampingOnly = { nodes: ['stamping' as const] }

// biome-ignore lint/suspicious/noExplicitAny: responses are checked field by field below
type Json = Record<string, any>

const topics = {
  created: topicName('development', 'metadataStampCreated'),
  batch: topicName('development', 'metadataBatchProcessed'),
  validated: topicName('development', 'metadataStampValidated'),
  hashed: topicName('development', 'blake3HashGenerated'),
  alert: topicName('development', 'dlqAlert'),
}
const relay = { pollIntervalMs: 50, initialBackoffMs: 10, maxBackoffMs: 50 }
const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/

/**
 * The stamping node's events, end to end through the outbox and the relay onto a bus (the recording
 * test double until the real adapters land), and the event tracer over what was recorded. Once per
 * backend: PGlite always, PostgreSQL when OMNINODE_TEST_DATABASE_URL is set.
 */
for (const backend of dialects) {
  const skip = skipReason(backend)
  test(
    `stamping events go through the outbox to the bus; the tracer shows them (${backend})`,
    { skip },
    (t) => eventsThroughOutbox(t, backend),
  )
  test(`outbox atomicity and a failing bus (${backend})`, { skip }, (t) => atomicity(t, backend))
  test(
    `dead letters: logged, counted, alerted, replayed once; consumers deduplicate (${backend})`,
    { skip },
    (t) => deadLetters(t, backend),
  )
}

async function eventsThroughOutbox(t: TestContext, backend: Dialect) {
  const bus = new RecordingBus()
  const { app } = await startTestBridge(t, { backend, bus, relay, config: stampingOnly })
  const call = async (method: 'GET' | 'POST', url: string, payload?: unknown, headers = {}) => {
    const res = await app.inject({ method, url, payload: payload as Json, headers })
    return { status: res.statusCode, body: res.json() as Json }
  }
  assert.ok(
    bus.ensured.some((d) => d.topic === topics.created),
    'the catalogue topics were ensured at start',
  )

  const correlation = randomUUID()
  const session = `stamp-session-${randomUUID().slice(0, 8)}`
  const headers = { 'x-correlation-id': correlation, 'x-session-id': session }

  await t.test('POST /stamp publishes METADATA_STAMP_CREATED keyed by the content hash', async () => {
    const res = await call('POST', '/stamp', { content: 'print(1)\n', file_path: 'a.py' }, headers)
    assert.equal(res.status, 200, JSON.stringify(res.body))
    await until('the stamp event', () => bus.topic(topics.created).length === 1)
    const [event] = bus.topic(topics.created)
    const record = res.body.data.record
    assert.equal(event!.event_type, 'METADATA_STAMP_CREATED')
    assert.deepEqual(event!.payload, {
      file_hash: record.file_hash,
      namespace: record.namespace,
      stamp_type: 'lightweight',
      file_path: 'a.py',
      content_type: record.content_type,
      file_size: record.file_size,
      created: true,
      uid: record.stamp_data.uid,
    })
    assert.equal(event!.partition_key, record.file_hash)
    assert.equal(event!.correlation_id, correlation)
    assert.deepEqual(event!.metadata, { session_id: session })
    assert.match(event!.source_node_id, /^stamping@/)
    assert.equal(event!.environment, 'development')
    assert.match(event!.event_id, uuid)
  })

  await t.test(
    'POST /batch: one event per stored item, then METADATA_BATCH_PROCESSED with the counts',
    async () => {
      const res = await call(
        'POST',
        '/batch',
        {
          items: [
            { content: 'one\n', file_path: 'one.md' },
            { content: 2 },
            { content: 'three\n', file_path: 'c.md' },
          ],
        },
        headers,
      )
      assert.equal(res.status, 200, JSON.stringify(res.body))
      assert.deepEqual([res.body.data.succeeded, res.body.data.failed], [2, 1])
      await until('the batch events', () => bus.topic(topics.batch).length === 1)
      assert.equal(bus.topic(topics.created).length, 3)
      const [summary] = bus.topic(topics.batch)
      assert.deepEqual(summary!.payload, { total: 3, succeeded: 2, failed: 1 })
      assert.equal(summary!.correlation_id, correlation)
    },
  )

  await t.test('/validate and /hash events are deferred: published within about a second', async () => {
    const stamped = (await call('POST', '/stamp', { content: 'x = 1\n', file_path: 'x.py' })).body.data
    const validated = await call(
      'POST',
      '/validate',
      { content: stamped.stamped_content, file_path: 'x.py' },
      headers,
    )
    assert.equal(validated.body.data.valid, true)
    const hashed = await call('POST', '/hash', { content: 'hash me' }, headers)
    await until('the validation and hash events', () => bus.topic(topics.hashed).length === 1, 5000)
    await until('the validation event', () => bus.topic(topics.validated).length === 1)
    assert.deepEqual(bus.topic(topics.validated)[0]!.payload, {
      valid: true,
      stamped: true,
      current_hash: stamped.file_hash,
      stamp_count: 1,
    })
    const hashEvent = bus.topic(topics.hashed)[0]!
    assert.deepEqual(hashEvent.payload, {
      file_hash: hashed.body.data.file_hash,
      size_bytes: 7,
      backend: hashed.body.data.hash_backend,
    })
    assert.equal(hashEvent.partition_key, hashed.body.data.file_hash)
    assert.equal(hashEvent.correlation_id, correlation)
  })

  await t.test('GET /events finds them by correlation, session, topic and direction', async () => {
    // the bus has an event a moment before the relay's commit logs it
    await until(
      'six logged events',
      async () => (await call('GET', `/events?correlation_id=${correlation}`)).body.data.count === 6,
    )
    const byCorrelation = await call('GET', `/events?correlation_id=${correlation}`)
    assert.equal(byCorrelation.status, 200)
    const types = byCorrelation.body.data.events.map((e: Json) => e.event_type)
    assert.deepEqual(types.slice(0, 4), [
      'METADATA_STAMP_CREATED',
      'METADATA_STAMP_CREATED',
      'METADATA_STAMP_CREATED',
      'METADATA_BATCH_PROCESSED',
    ])
    assert.equal(byCorrelation.body.data.count, 6)
    const first = byCorrelation.body.data.events[0]
    assert.equal(first.direction, 'published')
    assert.equal(first.session_id, session)
    assert.equal(first.topic, topics.created)
    assert.equal(first.event_id, bus.topic(topics.created)[0]!.event_id)
    assert.ok(first.duration_ms >= 0)
    assert.match(byCorrelation.body.metadata.correlation_id, uuid)

    const byTopic = await call('GET', `/events?topic=${topics.batch}&direction=published&limit=5`)
    assert.deepEqual(
      byTopic.body.data.events.map((e: Json) => e.event_type),
      ['METADATA_BATCH_PROCESSED'],
    )
    const future = await call('GET', `/events?since=${new Date(Date.now() + 60_000).toISOString()}`)
    assert.equal(future.body.data.count, 0)
  })

  await t.test('GET /events/sessions/{id}: the timeline of a session; 404 for one never seen', async () => {
    const res = await call('GET', `/events/sessions/${session}`)
    assert.equal(res.status, 200, JSON.stringify(res.body))
    const timeline = res.body.data
    assert.equal(timeline.session_id, session)
    assert.equal(timeline.event_count, 6)
    assert.equal(timeline.steps.length, 6)
    assert.equal(timeline.status, 'ok')
    assert.equal(timeline.failures, 0)
    assert.equal(timeline.truncated, false)
    assert.deepEqual(timeline.correlation_ids, [correlation])
    assert.ok(timeline.total_duration_ms >= 0)
    const times = timeline.steps.map((s: Json) => Date.parse(s.recorded_at))
    assert.deepEqual(
      times,
      [...times].sort((a, b) => a - b),
      'in time order',
    )
    assert.equal(timeline.steps[0].since_previous_ms, 0)
    assert.ok(timeline.steps.every((s: Json) => s.since_start_ms >= 0 && s.event_id))

    const truncated = await call('GET', `/events/sessions/${session}?limit=2`)
    assert.equal(truncated.body.data.steps.length, 2)
    assert.equal(truncated.body.data.truncated, true)

    const missing = await call('GET', '/events/sessions/never-seen')
    assert.equal(missing.status, 404)
    assert.equal(missing.body.error.code, 'ONEX_CORE_029_NOT_FOUND')
  })

  await t.test('bad tracer queries and session headers are 400s naming the field', async () => {
    for (const [url, field] of [
      ['/events?since=yesterday', 'since'],
      ['/events?correlation_id=abc', 'correlation_id'],
      ['/events?limit=0', 'limit'],
      ['/events?direction=sideways', 'direction'],
      ['/events?colour=blue', 'colour'],
      ['/events/sessions/has%20space', 'session_id'],
    ] as const) {
      const res = await call('GET', url)
      assert.equal(res.status, 400, url)
      assert.equal(res.body.error.code, 'ONEX_CORE_007_INVALID_INPUT')
      const fields = res.body.error.details.issues.map((i: Json) => i.field)
      assert.ok(fields.includes(field), `${url}: ${JSON.stringify(res.body.error)}`)
    }
    const badSession = await call('POST', '/hash', { content: 'x' }, { 'x-session-id': 'no spaces please' })
    assert.equal(badSession.status, 400)
    assert.equal(badSession.body.error.details.issues[0].field, 'x-session-id')
  })
}

async function atomicity(t: TestContext, backend: Dialect) {
  const bus = new RecordingBus()
  const { app, db } = await startTestBridge(t, { backend, bus, relay, config: stampingOnly })
  const stamp = async (content: string) => {
    const res = await app.inject({ method: 'POST', url: '/stamp', payload: { content, file_path: 'f.md' } })
    return { status: res.statusCode, body: res.json() as Json }
  }
  const count = async (sql: string) => (await db.query<{ n: number }>(sql)).rows[0]!.n

  await t.test('a transaction that cannot write its event stores no stamp either', async () => {
    await db.query('ALTER TABLE event_outbox RENAME TO event_outbox_gone')
    try {
      const res = await stamp('never stored\n')
      assert.equal(res.status, 500, JSON.stringify(res.body))
    } finally {
      await db.query('ALTER TABLE event_outbox_gone RENAME TO event_outbox')
    }
    assert.equal(await count('SELECT count(*)::int AS n FROM metadata_stamps'), 0)
    assert.equal(await count('SELECT count(*)::int AS n FROM event_outbox'), 0)
  })

  await t.test('stamps committed while the bus fails get their events once it works, in order', async () => {
    bus.failure = new Error('broker unreachable')
    const hashes: string[] = []
    for (const n of [1, 2, 3]) {
      const res = await stamp(`stamp ${n} while the bus is away\n`)
      assert.equal(res.status, 200, 'stamping does not need the bus')
      hashes.push(res.body.data.file_hash)
    }
    await sleep(150)
    assert.ok(bus.calls >= 2, 'the relay kept trying')
    assert.equal(bus.topic(topics.created).length, 0)
    assert.equal(await count('SELECT count(*)::int AS n FROM event_outbox'), 3)

    const health = (await app.inject({ method: 'GET', url: '/health' })).json()
    assert.equal(health.data.status, 'degraded')
    assert.equal(health.data.components.events.status, 'down')
    assert.match(
      health.data.components.events.detail,
      /^in-process \(broker unreachable\), outbox backlog 3, oldest \d+ s$/,
    )

    bus.failure = undefined
    await until('the three events', () => bus.topic(topics.created).length === 3)
    assert.deepEqual(
      bus.topic(topics.created).map((e) => e.payload['file_hash']),
      hashes,
    )
    await until(
      'out of the outbox',
      async () => (await count('SELECT count(*)::int AS n FROM event_outbox')) === 0,
    )
    const healthy = (await app.inject({ method: 'GET', url: '/health' })).json()
    assert.equal(healthy.data.components.events.status, 'up')
    assert.equal(healthy.data.components.events.detail, 'in-process, outbox backlog 0')
  })
}

async function deadLetters(t: TestContext, backend: Dialect) {
  const bus = new RecordingBus()
  const bridge = await startTestBridge(t, {
    backend,
    bus,
    relay,
    config: { ...stampingOnly, dlqAlertThreshold: 2, dlqAlertWindowMs: 60_000 },
  })
  const { app } = bridge
  const call = async (method: 'GET' | 'POST', url: string, payload?: unknown, headers = {}) => {
    const res = await app.inject({ method, url, payload: payload as Json, headers })
    return { status: res.statusCode, body: res.json() as Json }
  }

  const fussy = await bus.subscribe({
    groupId: 'fussy',
    topics: [topics.created],
    maxAttempts: 2,
    handler: withEventLog(bridge.events.recorder, 'fussy', async () => {
      throw new Error('the fussy consumer refuses')
    }),
  })
  const session = 'dlq-session'
  for (const n of [1, 2, 3]) {
    const res = await call(
      'POST',
      '/stamp',
      { content: `dead ${n}\n`, file_path: 'd.md' },
      { 'x-session-id': session },
    )
    assert.equal(res.status, 200)
  }

  await t.test(
    'each dead letter is logged once under its original event, counted, and the third alerts',
    async () => {
      await until('three dead letters in the log', async () => {
        const res = await call('GET', '/events?direction=dead_lettered')
        return res.body.data.count === 3
      })
      const { body } = await call('GET', '/events?direction=dead_lettered')
      const originals = bus.topic(topics.created).map((e) => e.event_id)
      assert.deepEqual(
        body.data.events.map((e: Json) => e.event_id),
        originals,
      )
      const letter = body.data.events[0]
      assert.equal(letter.topic, topics.created)
      assert.equal(letter.status, 'failed')
      assert.equal(letter.error, 'the fussy consumer refuses')
      assert.equal(letter.session_id, session)
      assert.equal(letter.payload.original_topic, topics.created)
      assert.equal(letter.payload.dlq_topic, `${topics.created}.dlq`)
      assert.equal(letter.replayed_at, null)

      await until('the DLQ_ALERT', () => bus.topic(topics.alert).length === 1)
      const alert = bus.topic(topics.alert)[0]!
      assert.equal(alert.event_type, 'DLQ_ALERT')
      assert.deepEqual(
        { ...alert.payload, last_failure_timestamp: undefined },
        {
          dlq_topic: `${topics.created}.dlq`,
          original_topic: topics.created,
          count: 3,
          threshold: 2,
          window_ms: 60_000,
          last_failure_reason: 'the fussy consumer refuses',
          last_failure_timestamp: undefined,
        },
      )
      const metrics = (await app.inject({ method: 'GET', url: '/metrics' })).body
      assert.match(metrics, new RegExp(`omninode_dlq_messages_total\\{topic="${topics.created}\\.dlq"\\} 3`))
      assert.match(metrics, new RegExp(`omninode_dlq_alerts_total\\{topic="${topics.created}\\.dlq"\\} 1`))
      assert.match(metrics, /omninode_events_published_total\{topic="[^"]+metadata-stamp-created\.v1"\} 3/)
    },
  )

  await t.test('the failed attempts are in the log too, and the session timeline says failed', async () => {
    await bridge.events.recorder.flush()
    const consumed = await call('GET', '/events?direction=consumed')
    assert.equal(consumed.body.data.count, 6, 'two attempts per event')
    assert.ok(
      consumed.body.data.events.every((e: Json) => e.consumer_group === 'fussy' && e.status === 'failed'),
    )
    const timeline = (await call('GET', `/events/sessions/${session}`)).body.data
    assert.equal(timeline.status, 'failed')
    assert.equal(timeline.failures, 9, 'six failed attempts and three dead letters')
    const first = timeline.steps[0].event_id
    assert.deepEqual(
      timeline.steps.filter((s: Json) => s.event_id === first).map((s: Json) => [s.direction, s.attempt]),
      [
        ['published', null],
        ['consumed', 1],
        ['consumed', 2],
        ['dead_lettered', 2],
      ],
      'one event: published, two failed attempts, dead-lettered',
    )
  })

  await t.test(
    'replay republishes the originals once; a deduplicating consumer processes each once',
    async () => {
      await fussy.stop()
      const replay = await call('POST', '/events/dlq/replay', { topic: `${topics.created}.dlq` })
      assert.equal(replay.status, 200, JSON.stringify(replay.body))
      assert.equal(replay.body.data.replayed.length, 3)
      assert.deepEqual(replay.body.data.skipped, [])
      await until('the replayed events', () => bus.topic(topics.created).length === 6)
      const events = bus.topic(topics.created)
      assert.deepEqual(
        events.slice(3).map((e) => e.event_id),
        events.slice(0, 3).map((e) => e.event_id),
        'the same events, unchanged',
      )
      const again = await call('POST', '/events/dlq/replay', {})
      assert.equal(again.body.data.replayed.length, 0, 'a dead letter is replayed once')
      const listed = await call('GET', '/events?direction=dead_lettered')
      assert.ok(listed.body.data.events.every((e: Json) => e.replayed_at !== null))

      let processed = 0
      const happy = await bridge.events.subscribe({
        groupId: 'happy',
        topics: [topics.created],
        handle: async (_event, tx) => {
          await tx.query('SELECT 1')
          processed++
        },
      })
      t.after(() => happy?.stop())
      await bus.idle()
      assert.equal(processed, 3, 'six deliveries, three events')
      await bridge.events.recorder.flush()
      const logged = await call('GET', '/events?direction=consumed&limit=1000')
      const happyEntries = logged.body.data.events.filter((e: Json) => e.consumer_group === 'happy')
      assert.equal(happyEntries.length, 6, 'every delivery is logged, duplicates included')
      assert.ok(happyEntries.every((e: Json) => e.status === 'ok'))
    },
  )
}

test('without a bus the bridge runs, keeps events in the outbox and says so once', async (t) => {
  const lines: Json[] = []
  const logger = pino({ level: 'info' }, { write: (line: string) => lines.push(JSON.parse(line)) })
  const { app, db } = await startTestBridge(t, { logger, bus: null, config: stampingOnly })
  const res = await app.inject({ method: 'POST', url: '/stamp', payload: { content: 'kept\n' } })
  assert.equal(res.statusCode, 200)
  await app.inject({ method: 'POST', url: '/hash', payload: { content: 'kept too' } })
  const notices = lines.filter((l) => /no event bus attached/.test(l.msg))
  assert.equal(notices.length, 1)
  assert.equal(notices[0]?.level, 30)
  const { rows } = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM event_outbox')
  assert.equal(rows[0]!.n, 1, 'the stamp event waits; the hash event is still deferred')
  const health = (await app.inject({ method: 'GET', url: '/health' })).json()
  assert.equal(health.data.status, 'healthy')
  assert.deepEqual(health.data.components.events.status, 'absent')
  assert.match(
    health.data.components.events.detail,
    /^no event bus attached, outbox backlog 1, oldest \d+ s$/,
  )
})
