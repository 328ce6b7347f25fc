import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { type TestContext, test } from 'node:test'
import pino from 'pino'
import { openInProcessBus } from '../../src/adapters/bus/in-process/in-process-bus.ts'
import { openPgliteDatabase } from '../../src/adapters/db/pglite/pglite-database.ts'
import { createEnvelope } from '../../src/core/events/envelope.ts'
import { topicName } from '../../src/core/events/topics.ts'
import type { Database } from '../../src/ports/database.ts'
import type { DeliveredEvent } from '../../src/ports/event-bus.ts'
import { type Bridge, createBridge } from '../../src/runtime/app.ts'
import { type BridgeConfig, loadConfig } from '../../src/runtime/config/load.ts'
import { startTestBridge } from '../helpers/bridge.ts'
import {
  createScratchDatabase,
  type Dialect,
  dialects,
  skipReason,
  testDatabaseUrl,
} from '../helpers/database-backends.ts'
import { until } from '../helpers/until.ts'

// biome-ignore lint/suspicious/noExplicitAny: responses are checked field by field below
type Json = Record<string, any>

const env = 'development'
const topics = {
  created: topicName(env, 'metadataStampCreated'),
  completed: topicName(env, 'stampWorkflowCompleted'),
  failed: topicName(env, 'stampWorkflowFailed'),
  committed: topicName(env, 'stateCommitted'),
  processed: topicName(env, 'batchProcessed'),
}
const relay = { pollIntervalMs: 20, initialBackoffMs: 10, maxBackoffMs: 50 }
const source = { nodeId: 'orchestrator@test', version: '0.0.0', environment: env }

/** An event as the orchestrator (or the stamping node) would put it on the bus. */
function event(eventType: string, payload: Record<string, unknown>, partitionKey: string) {
  return createEnvelope(
    source,
    { eventType, payload, partitionKey },
    { eventId: randomUUID(), now: new Date() },
  )
}

function workflowCompleted(namespace: string, degraded = false) {
  const id = randomUUID()
  return event(
    'STAMP_WORKFLOW_COMPLETED',
    {
      workflow_id: id,
      namespace,
      file_hash: 'd'.repeat(64),
      file_path: null,
      content_type: 'text/plain',
      file_size: 10,
      stamp_type: 'lightweight',
      degraded,
      duration_ms: 4,
      step_count: 5,
    },
    id,
  )
}

function workflowFailed(namespace: string, failedStep: string) {
  const id = randomUUID()
  return event(
    'STAMP_WORKFLOW_FAILED',
    {
      workflow_id: id,
      namespace,
      failed_step: failedStep,
      error_code: 'ONEX_CORE_007_INVALID_INPUT',
      error_message: 'bad input',
      duration_ms: 2,
    },
    id,
  )
}

/**
 * The reducer in a whole bridge on the embedded bus: stamps through HTTP become bridge states whose
 * totals equal what the stamping store holds; workflow events are counted; a redelivered or replayed
 * event counts once; a bad payload is dead-lettered and the rest flow; two reducers of one group
 * count every event once. PGlite always, PostgreSQL when OMNINODE_TEST_DATABASE_URL is set.
 */
for (const backend of dialects) {
  const skip = skipReason(backend)
  test(
    `the reducer counts stamps and workflows into bridge states (${backend})`,
    { skip, timeout: 300_000 },
    (t) => countsEverything(t, backend),
  )
  test(`two reducers of one group count each event once (${backend})`, { skip, timeout: 120_000 }, (t) =>
    twoReducers(t, backend),
  )
}

async function countsEverything(t: TestContext, backend: Dialect) {
  const bus = openInProcessBus()
  const bridge = await startTestBridge(t, {
    backend,
    bus,
    relay,
    config: { batchMaxItems: 1000, nodes: ['stamping', 'reducer'] },
  })
  const { app, db } = bridge
  const call = async (method: 'GET' | 'POST', url: string, payload?: unknown) => {
    const res = await app.inject({ method, url, payload: payload as Json })
    return { status: res.statusCode, body: res.json() as Json }
  }
  const ns = (n: number) => `omninode.reducer.t${n}`
  const state = async (namespace: string) =>
    (await call('GET', `/bridge-states/${namespace}`)).body.data as Json

  await t.test('GET /bridge-states/{namespace} is a unified 404 before anything was counted', async () => {
    const res = await call('GET', `/bridge-states/${ns(9)}`)
    assert.equal(res.status, 404)
    assert.equal(res.body.status, 'error')
    assert.equal(res.body.error.code, 'ONEX_CORE_029_NOT_FOUND')
    assert.match(res.body.error.message, /omninode\.reducer\.t9/)
    const bad = await call('GET', '/bridge-states/not%20a%20namespace')
    assert.equal(bad.status, 400)
    assert.equal(bad.body.error.code, 'ONEX_CORE_007_INVALID_INPUT')
    assert.equal(bad.body.error.details.issues[0].field, 'namespace')
  })

  await t.test('10,000 stamps: the totals equal exactly what the stamping store holds', async () => {
    const total = 10_000
    const types = ['py', 'md', 'json', 'ts']
    for (let start = 0; start < total; start += 1000) {
      const items = Array.from({ length: 1000 }, (_, i) => {
        const n = start + i
        return {
          content: `file ${n}\n${'x'.repeat(n % 300)}\n`,
          namespace: ns(n % 3),
          file_path: `src/f${n}.${types[n % types.length]}`,
          stamp_type: n % 2 ? 'rich' : 'lightweight',
        }
      })
      const res = await call('POST', '/batch', { items })
      assert.equal(res.status, 200, JSON.stringify(res.body).slice(0, 300))
      assert.equal(res.body.data.succeeded, 1000)
    }
    // content types as first stamped (a restamp may refresh a record's type; the state counts stamps)
    const typesOf = new Map<string, Record<string, number>>()
    const stampTypesOf = new Map<string, Record<string, number>>()
    for (let n = 0; n < 3; n++) {
      const byStampType = await db.query<{ stamp_type: string; n: number }>(
        'SELECT stamp_type, count(*)::int AS n FROM metadata_stamps WHERE namespace = $1 GROUP BY stamp_type',
        [ns(n)],
      )
      stampTypesOf.set(ns(n), Object.fromEntries(byStampType.rows.map((r) => [r.stamp_type, r.n])))
      const byType = await db.query<{ content_type: string; n: number }>(
        'SELECT content_type, count(*)::int AS n FROM metadata_stamps WHERE namespace = $1 GROUP BY content_type',
        [ns(n)],
      )
      typesOf.set(ns(n), Object.fromEntries(byType.rows.map((r) => [r.content_type, r.n])))
    }
    // the same content again: restamps, stored once
    const again = await call('POST', '/batch', {
      items: [0, 3, 6].map((n) => ({ content: `file ${n}\n${'x'.repeat(n % 300)}\n`, namespace: ns(0) })),
    })
    assert.equal(again.body.data.succeeded, 3)
    const stored = async () =>
      (
        await db.query<{ namespace: string; n: number; size: number }>(
          `SELECT namespace, count(*)::int AS n, sum(file_size)::bigint AS size FROM metadata_stamps
           WHERE namespace LIKE 'omninode.reducer.%' GROUP BY namespace ORDER BY namespace`,
        )
      ).rows
    const expected = await stored()
    assert.equal(
      expected.reduce((a, r) => a + r.n, 0),
      total,
    )
    await until(
      'the bridge states to count every stamp',
      async () => {
        const { body } = await call('GET', '/bridge-states')
        const counted = (body.data.states as Json[]).filter((s) =>
          s.namespace.startsWith('omninode.reducer.'),
        )
        return counted.reduce((a, s) => a + s.stamp_count + s.restamp_count, 0) >= total + 3
      },
      90_000,
    )
    for (const row of expected) {
      const s = await state(row.namespace)
      assert.equal(s.stamp_count, row.n, `stamps of ${row.namespace}`)
      assert.equal(s.total_size_bytes, Number(row.size), `size of ${row.namespace}`)
      const types = typesOf.get(row.namespace)!
      assert.deepEqual(s.file_types, types)
      assert.equal(s.unique_file_types, Object.keys(types).length)
      assert.equal(
        Object.values(s.size_buckets as Record<string, number>).reduce((a, b) => a + b, 0),
        row.n,
        'every stamp in one size bucket',
      )
      assert.deepEqual(s.custom.groups, stampTypesOf.get(row.namespace), 'custom: stamps per stamp_type')
      assert.equal(s.custom.group_by, 'stamp_type')
      assert.ok(s.items_per_second > 0)
      assert.ok(Date.parse(s.window.end) - Date.parse(s.window.start) === 1000)
    }
    assert.equal((await state(ns(0))).restamp_count, 3)
    assert.equal((await state(ns(1))).restamp_count, 0)
  })

  await t.test('workflow events are counted per namespace, failures by step', async () => {
    const namespace = 'omninode.reducer.workflows'
    await bus.publishBatch([
      { topic: topics.completed, envelope: workflowCompleted(namespace) },
      { topic: topics.completed, envelope: workflowCompleted(namespace, true) },
      { topic: topics.failed, envelope: workflowFailed(namespace, 'hash_generation') },
    ])
    await until(
      'the workflows',
      async () =>
        (await call('GET', `/bridge-states/${namespace}`)).status === 200 &&
        (await state(namespace)).item_count === 3,
      30_000,
    )
    const s = await state(namespace)
    assert.deepEqual(s.workflows, {
      completed: 2,
      failed: 1,
      degraded: 1,
      duration_ms_total: 10,
      failed_steps: { hash_generation: 1 },
    })
    assert.equal(s.stamp_count, 0)
  })

  await t.test('a redelivered or replayed event counts once; the watermark moves on', async () => {
    const namespace = 'omninode.reducer.replay'
    const once = workflowCompleted(namespace)
    await bus.publish(topics.completed, once)
    await until(
      'the first copy',
      async () => (await call('GET', `/bridge-states/${namespace}`)).status === 200,
      30_000,
    )
    // the same event again (the relay published it twice, or a dead letter was replayed), then a new one
    await bus.publish(topics.completed, once)
    await bus.publish(topics.completed, structuredClone(once))
    const marker = workflowCompleted(namespace)
    marker.partition_key = once.partition_key!
    await bus.publish(topics.completed, marker)
    await until('the marker', async () => (await state(namespace)).item_count >= 2, 30_000)
    const s = await state(namespace)
    assert.equal(s.item_count, 2)
    assert.equal(s.workflows.completed, 2)
    const { rows } = await db.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM action_dedup WHERE event_id = $1',
      [once.event_id],
    )
    assert.equal(rows[0]!.n, 1)
    const marks = (await call('GET', '/bridge-states')).body.data.watermarks as Json[]
    assert.ok(
      marks.some((w) => w.topic === topics.completed && w.offset >= 3),
      JSON.stringify(marks),
    )
  })

  await t.test(
    'a bad payload is dead-lettered with the field named; the events after it are counted',
    async () => {
      const namespace = 'omninode.reducer.poison'
      const dead: DeliveredEvent[] = []
      const reader = await bus.subscribe({
        groupId: `dlq-reader-${randomUUID()}`,
        topics: [`${topics.failed}.dlq`],
        handler: async (e) => {
          dead.push(e)
        },
      })
      t.after(() => reader.stop())
      const key = randomUUID()
      const bad = event('STAMP_WORKFLOW_FAILED', { workflow_id: key, namespace }, key)
      const good = workflowFailed(namespace, 'stamp_creation')
      good.partition_key = key
      await bus.publishBatch([
        { topic: topics.failed, envelope: bad },
        { topic: topics.failed, envelope: good },
      ])
      await until('the dead letter', () => dead.length >= 1, 60_000)
      await until(
        'the good event',
        async () => (await call('GET', `/bridge-states/${namespace}`)).status === 200,
        30_000,
      )
      const letter = dead[0]!.envelope.payload as Json
      assert.equal(JSON.parse(letter.original_data).event_id, bad.event_id)
      assert.match(letter.failure_reason, /failed_step/)
      assert.equal((await state(namespace)).workflows.failed, 1)
    },
  )

  await t.test('each committed batch is announced through the outbox', async () => {
    await until(
      'the outbox to drain',
      async () =>
        (await db.query<{ n: number }>('SELECT count(*)::int AS n FROM event_outbox')).rows[0]!.n === 0,
      30_000,
    )
    const { rows } = await db.query<{ event_type: string; n: number }>(
      `SELECT event_type, count(*)::int AS n FROM event_logs
       WHERE direction = 'published' AND event_type IN ('AGGREGATION_STARTED', 'BATCH_PROCESSED',
         'AGGREGATION_COMPLETED', 'STATE_PERSISTED', 'STATE_COMMITTED')
       GROUP BY event_type`,
    )
    const counts = Object.fromEntries(rows.map((r) => [r.event_type, r.n]))
    assert.ok((counts['STATE_COMMITTED'] ?? 0) > 0, JSON.stringify(counts))
    for (const type of ['AGGREGATION_STARTED', 'BATCH_PROCESSED', 'AGGREGATION_COMPLETED', 'STATE_PERSISTED'])
      assert.equal(counts[type], counts['STATE_COMMITTED'], `${type}: one per committed batch`)
    const committed = await db.query<{ payload: Json }>(
      `SELECT payload FROM event_logs WHERE direction = 'published' AND event_type = 'STATE_COMMITTED' LIMIT 1`,
    )
    assert.deepEqual(
      (committed.rows[0]!.payload.transitions as Json[]).map((x) => x.to),
      ['aggregating', 'persisting', 'committed'],
    )
  })
}

/**
 * Two bridges hosting only the reducer, on one bus and one database (two pools on PostgreSQL; on
 * PGlite, one database both use): the group splits the partitions and together they count each
 * event once.
 */
async function twoReducers(t: TestContext, backend: Dialect) {
  const bus = openInProcessBus()
  const config: BridgeConfig = { ...loadConfig({ env: {} }), port: 0, nodes: ['reducer'] }
  const logger = pino({ level: 'silent' })
  let open: (() => Promise<Bridge>) | undefined
  let dropScratch = async () => {}
  if (backend === 'postgres') {
    const scratch = await createScratchDatabase(testDatabaseUrl!)
    dropScratch = scratch.drop
    open = () => createBridge({ ...config, databaseUrl: scratch.url }, logger, { bus, relay })
  } else {
    const db = await openPgliteDatabase()
    // each bridge closes its database: the shared one closes once both are done (below)
    const shared: Database = {
      dialect: db.dialect,
      query: (sql, params) => db.query(sql, params),
      transaction: (fn) => db.transaction(fn),
      execScript: (sql) => db.execScript(sql),
      health: () => db.health(),
      close: async () => {},
    }
    t.after(() => db.close())
    open = () => createBridge(config, logger, { db: shared, bus, relay })
  }
  const first = await open()
  const second = await open()
  t.after(async () => {
    await second.close()
    await first.close()
    await dropScratch()
  })
  const namespace = 'omninode.reducer.pair'
  const sent = Array.from({ length: 3000 }, () => workflowCompleted(namespace))
  for (let i = 0; i < sent.length; i += 500)
    await bus.publishBatch(sent.slice(i, i + 500).map((envelope) => ({ topic: topics.completed, envelope })))
  const counted = async () =>
    (
      await first.db.query<{ n: number }>(
        'SELECT item_count::int AS n FROM bridge_states WHERE namespace = $1',
        [namespace],
      )
    ).rows[0]?.n ?? 0
  await until('every event counted', async () => (await counted()) >= sent.length, 60_000)
  assert.equal(await counted(), sent.length)
  // both members counted: each logged the events it consumed under the group, per partition
  const { rows } = await first.db.query<{ partition: number; n: number }>(
    `SELECT partition, count(*)::int AS n FROM projection_watermarks WHERE topic = $1 GROUP BY partition`,
    [topics.completed],
  )
  assert.equal(rows.length, 3, 'every partition of the topic was counted')
}
