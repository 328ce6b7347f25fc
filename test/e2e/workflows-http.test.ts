import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type TestContext, test } from 'node:test'
import { createEnvelope } from '../../src/core/events/envelope.ts'
import { topicName } from '../../src/core/events/topics.ts'
import type { BridgeConfig } from '../../src/runtime/config/load.ts'
import { startTestBridge } from '../helpers/bridge.ts'
import { type Dialect, dialects, skipReason } from '../helpers/database-backends.ts'
import { startFakeOnexTree } from '../helpers/fake-onextree.ts'
import { RecordingBus } from '../helpers/recording-bus.ts'
import { until } from '../helpers/until.ts'

// biome-ignore lint/suspicious/noExplicitAny: responses are checked field by field below
type Json = Record<string, any>

const topic = {
  started: topicName('development', 'stampWorkflowStarted'),
  completed: topicName('development', 'stampWorkflowCompleted'),
  failed: topicName('development', 'stampWorkflowFailed'),
  step: topicName('development', 'workflowStepCompleted'),
  transition: topicName('development', 'workflowStateTransition'),
  stamp: topicName('development', 'metadataStampCreated'),
  request: topicName('development', 'metadataStampRequest'),
}
const relay = { pollIntervalMs: 20, initialBackoffMs: 10, maxBackoffMs: 50 }
const steps = [
  'validate_input',
  'onextree_intelligence',
  'hash_generation',
  'stamp_creation',
  'event_publishing',
]

async function bridgeOn(t: TestContext, backend: Dialect, config = {}) {
  const bus = new RecordingBus()
  // the stamping node too: the tests compare the workflows' stamps with POST /stamp's
  const nodes: BridgeConfig['nodes'] = ['stamping', 'orchestrator']
  const { app } = await startTestBridge(t, { backend, bus, relay, config: { nodes, ...config } })
  const call = async (method: 'GET' | 'POST', url: string, payload?: unknown, headers = {}) => {
    const res = await app.inject({ method, url, payload: payload as Json, headers })
    return { status: res.statusCode, body: res.json() as Json, headers: res.headers }
  }
  const ofWorkflow = (name: keyof typeof topic, id: string) =>
    bus.topic(topic[name]).filter((e) => e.payload['workflow_id'] === id)
  return { bus, call, ofWorkflow }
}

/**
 * The orchestrator over HTTP and the bus, on each database backend: workflows run their contract's
 * steps, persist every transition and step, publish through the outbox, create real stamps, and
 * answer bad input with a unified 4xx naming the field.
 */
for (const backend of dialects) {
  const skip = skipReason(backend)

  test(`one workflow: steps, stamp, transitions, events (${backend})`, { skip }, async (t) => {
    const { bus, call, ofWorkflow } = await bridgeOn(t, backend)
    const correlation = randomUUID()
    const item = { content: 'def f():\n    return 1\n', file_path: 'src/f.py', namespace: 'onex.flows' }
    const res = await call('POST', '/workflows/stamp', item, { 'x-correlation-id': correlation })
    assert.equal(res.status, 200, JSON.stringify(res.body))
    assert.deepEqual([res.body.data.total, res.body.data.completed, res.body.data.failed], [1, 1, 0])
    const wf = res.body.data.workflows[0]
    assert.equal(wf.state, 'completed')
    assert.equal(wf.degraded, false)
    assert.deepEqual(
      wf.steps.map((s: Json) => s.step),
      steps,
    )
    assert.ok(wf.steps.every((s: Json) => s.status === 'completed' && s.attempts === 1))
    // durations to the microsecond, without the float noise of a performance.now() difference
    const microseconds = (ms: number) => ms === Math.round(ms * 1000) / 1000
    assert.ok(
      [wf, ...wf.steps].every((x: Json) => microseconds(x.duration_ms)),
      JSON.stringify(wf.steps),
    )
    assert.match(wf.stamped_content, /^# ONEX:uid=.*,hash=[0-9a-f]{64}/)

    // the stamp is the one POST /stamp makes: same hash, same stored record, found by GET /stamp
    const direct = await call('POST', '/stamp', { ...item })
    assert.equal(direct.body.data.file_hash, wf.file_hash)
    assert.equal(direct.body.data.created, false, 'the workflow stored it first')
    assert.equal(direct.body.data.stamped_content, wf.stamped_content)
    const stored = await call('GET', `/stamp/${wf.file_hash}?namespace=onex.flows`)
    assert.equal(stored.body.data.records.length, 1)
    assert.equal(stored.body.data.records[0].intelligence_data.language, 'python')
    assert.equal(stored.body.data.records[0].intelligence_data.line_count, 2)

    const detail = await call('GET', `/workflows/${wf.workflow_id}`)
    assert.equal(detail.status, 200)
    const d = detail.body.data
    assert.equal(d.state, 'completed')
    assert.equal(d.file_hash, wf.file_hash)
    assert.equal(d.file_path, 'src/f.py')
    assert.equal(d.correlation_id, correlation)
    assert.equal(d.error, null)
    assert.ok(d.duration_ms >= 0 && d.started_at && d.finished_at)
    assert.deepEqual(
      d.steps.map((s: Json) => [s.step, s.status]),
      steps.map((s) => [s, 'completed']),
    )
    assert.deepEqual(
      d.transitions.map((x: Json) => [x.from_state, x.to_state, x.trigger]),
      [
        ['pending', 'processing', 'start'],
        ['processing', 'completed', 'finish'],
      ],
    )

    await until('the completion event', () => ofWorkflow('completed', wf.workflow_id).length === 1)
    const [completed] = ofWorkflow('completed', wf.workflow_id)
    assert.deepEqual(completed!.payload, {
      workflow_id: wf.workflow_id,
      namespace: 'onex.flows',
      file_hash: wf.file_hash,
      file_path: 'src/f.py',
      content_type: stored.body.data.records[0].content_type,
      file_size: stored.body.data.records[0].file_size,
      stamp_type: 'lightweight',
      degraded: false,
      duration_ms: completed!.payload['duration_ms'],
      step_count: 5,
    })
    assert.equal(typeof completed!.payload['duration_ms'], 'number')
    assert.equal(completed!.partition_key, wf.workflow_id)
    assert.equal(completed!.correlation_id, correlation)
    assert.match(completed!.source_node_id, /^orchestrator@/)
    assert.deepEqual(ofWorkflow('started', wf.workflow_id)[0]!.payload, {
      workflow_id: wf.workflow_id,
      namespace: 'onex.flows',
      file_path: 'src/f.py',
      item_count: 1,
    })
    assert.deepEqual(
      ofWorkflow('transition', wf.workflow_id).map((e) => [e.payload['from_state'], e.payload['to_state']]),
      [
        ['pending', 'processing'],
        ['processing', 'completed'],
      ],
    )
    const stepEvents = ofWorkflow('step', wf.workflow_id)
    assert.deepEqual(
      stepEvents.map((e) => e.payload['step']),
      steps,
    )
    assert.deepEqual(Object.keys(stepEvents[0]!.payload).sort(), [
      'attempt',
      'duration_ms',
      'status',
      'step',
      'workflow_id',
    ])
    // one METADATA_STAMP_CREATED per stamp: the workflow's, then POST /stamp's (created: false)
    const stampEvents = bus.topic(topic.stamp).filter((e) => e.payload['file_hash'] === wf.file_hash)
    await until(
      'both stamp events',
      () => bus.topic(topic.stamp).filter((e) => e.payload['file_hash'] === wf.file_hash).length === 2,
    )
    stampEvents.splice(
      0,
      stampEvents.length,
      ...bus.topic(topic.stamp).filter((e) => e.payload['file_hash'] === wf.file_hash),
    )
    assert.deepEqual(
      stampEvents.map((e) => e.payload['created']),
      [true, false],
    )
    assert.equal(stampEvents[0]!.correlation_id, correlation)
    assert.match(stampEvents[0]!.source_node_id, /^stamping@/)
  })

  test(`many items; GET /workflows filters and pages (${backend})`, { skip }, async (t) => {
    const { call } = await bridgeOn(t, backend)
    const items = Array.from({ length: 5 }, (_, i) => ({
      content: `item ${i}\n`,
      file_path: `n${i}.md`,
      namespace: i < 3 ? 'onex.pages' : 'onex.other',
      intelligence: i % 2 === 0,
    }))
    const res = await call('POST', '/workflows/stamp', { items })
    assert.equal(res.status, 200, JSON.stringify(res.body))
    assert.deepEqual([res.body.data.total, res.body.data.completed], [5, 5])
    const ids = res.body.data.workflows.map((w: Json) => w.workflow_id)
    assert.equal(new Set(ids).size, 5)
    // intelligence: false skips the optional step
    assert.equal(res.body.data.workflows[1].steps.length, 4)
    assert.equal(res.body.data.workflows[0].steps.length, 5)

    const seen: string[] = []
    let cursor: string | null = null
    do {
      const page: { status: number; body: Json } = await call(
        'GET',
        `/workflows?namespace=onex.pages&state=completed&limit=2${cursor ? `&cursor=${cursor}` : ''}`,
      )
      assert.equal(page.status, 200, JSON.stringify(page.body))
      assert.ok(page.body.data.items.length <= 2)
      seen.push(...page.body.data.items.map((w: Json) => w.workflow_id))
      cursor = page.body.data.next_cursor
    } while (cursor)
    assert.deepEqual(seen.sort(), ids.slice(0, 3).sort())
    const failed = await call('GET', '/workflows?state=failed')
    assert.deepEqual(failed.body.data.items, [])
  })

  test(`bad input: 4xx naming the field; a failing step fails the workflow (${backend})`, {
    skip,
  }, async (t) => {
    const { call, ofWorkflow } = await bridgeOn(t, backend)
    const cases: Array<[unknown, string]> = [
      [{ file_path: 'a.md' }, 'content'],
      [{ content: 'x', namespace: 'nope' }, 'namespace'],
      [{ content: 'x', colour: 'red' }, 'colour'],
      [{ items: [{ content: 'ok' }, { content: 'x', stamp_type: 'loud' }] }, 'items.1.stamp_type'],
      [{ items: [] }, 'items'],
    ]
    for (const [body, field] of cases) {
      const res = await call('POST', '/workflows/stamp', body)
      assert.equal(res.status, 400, `${JSON.stringify(body)}: ${JSON.stringify(res.body)}`)
      assert.equal(res.body.error.code, 'ONEX_CORE_007_INVALID_INPUT')
      assert.ok(
        res.body.error.details.issues.some((i: Json) => i.field === field),
        `${field} named in ${JSON.stringify(res.body.error)}`,
      )
      assert.equal(res.body.error.details.location, 'body', JSON.stringify(res.body.error))
    }
    assert.equal(
      (await call('GET', '/workflows?state=sleeping')).body.error.details.location,
      'querystring',
      'as fastify names it',
    )
    const asText = await call('POST', '/workflows/stamp', JSON.stringify({ content: 'x' }), {
      'content-type': 'text/plain',
    })
    assert.equal(asText.status, 415, JSON.stringify(asText.body))
    assert.equal(asText.body.error.code, 'ONEX_CORE_012_UNSUPPORTED_MEDIA_TYPE')
    assert.equal(asText.body.error.details.issues[0].field, 'content-type')
    const notFound = await call('GET', `/workflows/${randomUUID()}`)
    assert.equal(notFound.status, 404)
    assert.equal(notFound.body.error.code, 'ONEX_CORE_029_NOT_FOUND')
    const badId = await call('GET', '/workflows/not-a-uuid')
    assert.equal(badId.status, 400)
    const badState = await call('GET', '/workflows?state=sleeping')
    assert.equal(badState.status, 400)
    assert.equal(badState.body.error.details.issues[0].field, 'state')
    const badCursor = await call('GET', '/workflows?cursor=abc')
    assert.equal(badCursor.status, 400)
    assert.equal(badCursor.body.error.details.issues[0].field, 'cursor')

    // validate_input refuses what the schema cannot see: the workflow fails, persisted and published
    const res = await call('POST', '/workflows/stamp', { content: 'x\n', content_type: 'not a mime type' })
    assert.equal(res.status, 200)
    const wf = res.body.data.workflows[0]
    assert.equal(wf.state, 'failed')
    assert.deepEqual(wf.error, {
      failed_step: 'validate_input',
      code: 'ONEX_CORE_007_INVALID_INPUT',
      message: 'content_type is not a MIME type',
    })
    assert.deepEqual(
      wf.steps.map((s: Json) => [s.step, s.status, s.attempts]),
      [['validate_input', 'failed', 1]],
    )
    const detail = (await call('GET', `/workflows/${wf.workflow_id}`)).body.data
    assert.equal(detail.state, 'failed')
    assert.deepEqual(detail.error, wf.error)
    assert.deepEqual(
      detail.transitions.map((x: Json) => x.to_state),
      ['processing', 'failed'],
    )
    await until('the failure event', () => ofWorkflow('failed', wf.workflow_id).length === 1)
    const event = ofWorkflow('failed', wf.workflow_id)[0]!
    assert.deepEqual(Object.keys(event.payload).sort(), [
      'duration_ms',
      'error_code',
      'error_message',
      'failed_step',
      'namespace',
      'workflow_id',
    ])
    assert.equal(event.payload['failed_step'], 'validate_input')
    assert.equal(event.partition_key, wf.workflow_id)
  })

  test(`cmd.metadata-stamp-request: answered with its correlation, once (${backend})`, {
    skip,
  }, async (t) => {
    const { bus, call } = await bridgeOn(t, backend)
    const correlation = randomUUID()
    const request = createEnvelope(
      { nodeId: 'client@test', version: '1.0.0', environment: 'development' },
      {
        eventType: 'METADATA_STAMP_REQUEST',
        payload: { content: 'from the bus\n', file_path: 'bus.md', namespace: 'onex.bus' },
        correlationId: correlation,
      },
      { eventId: randomUUID(), now: new Date() },
    )
    await bus.publish(topic.request, request)
    await until('the completion event', () =>
      bus.topic(topic.completed).some((e) => e.causation_id === request.event_id),
    )
    // redelivered: no second workflow
    await bus.publish(topic.request, request)
    await bus.idle()
    const list = await call('GET', '/workflows?namespace=onex.bus')
    assert.equal(list.body.data.items.length, 1)
    const wf = list.body.data.items[0]
    assert.equal(wf.request_event_id, request.event_id)
    assert.equal(wf.state, 'completed')
    const answers = [topic.started, topic.completed, topic.transition, topic.step].flatMap((name) =>
      bus.topic(name).filter((e) => e.payload['workflow_id'] === wf.workflow_id),
    )
    assert.equal(answers.length, 1 + 1 + 2 + 5)
    for (const e of answers) {
      assert.equal(e.correlation_id, correlation)
      assert.equal(e.causation_id, request.event_id)
    }

    // a payload that is no stamp request is dead-lettered with the reason
    const bad = createEnvelope(
      { nodeId: 'client@test', version: '1.0.0', environment: 'development' },
      { eventType: 'METADATA_STAMP_REQUEST', payload: { content: 12 } },
      { eventId: randomUUID(), now: new Date() },
    )
    await bus.publish(topic.request, bad)
    await until('the dead letter', () => bus.topic(`${topic.request}.dlq`).length === 1)
    assert.match(
      String(bus.topic(`${topic.request}.dlq`)[0]!.payload['failure_reason']),
      /invalid payload at content/,
    )
  })

  test(`concurrency limit: beyond running + queued, 429 with Retry-After (${backend})`, {
    skip,
  }, async (t) => {
    const { call } = await bridgeOn(t, backend, { maxConcurrentWorkflows: 1, workflowQueueLimit: 2 })
    const item = (i: number) => ({ content: `limit ${i}\n`, namespace: 'onex.limit' })
    const refused = await call('POST', '/workflows/stamp', { items: [item(1), item(2), item(3), item(4)] })
    assert.equal(refused.status, 429, JSON.stringify(refused.body))
    assert.equal(refused.body.error.code, 'ONEX_CORE_041_RATE_LIMITED')
    assert.equal(refused.headers['retry-after'], '1')
    assert.equal((await call('GET', '/workflows?namespace=onex.limit')).body.data.items.length, 0)
    // three fit (one runs, two queue) and all complete, one at a time
    const accepted = await call('POST', '/workflows/stamp', { items: [item(1), item(2), item(3)] })
    assert.equal(accepted.status, 200)
    assert.equal(accepted.body.data.completed, 3)
    // concurrent requests: what does not fit is refused, what fits completes
    const results = await Promise.all(
      Array.from({ length: 6 }, (_, i) => call('POST', '/workflows/stamp', item(10 + i))),
    )
    const statuses = results.map((r) => r.status)
    assert.ok(
      statuses.every((s) => s === 200 || s === 429),
      statuses.join(),
    )
    assert.ok(statuses.includes(200))
  })

  test(`a workflow that starts at once and one that waits for a slot persist and publish the same history (${backend})`, {
    skip,
  }, async (t) => {
    // one running slot: of a request of 4, the first starts in the transaction that accepts it, the
    // others are accepted pending and each starts once the one before finished
    const { call, ofWorkflow } = await bridgeOn(t, backend, {
      maxConcurrentWorkflows: 1,
      workflowQueueLimit: 8,
    })
    const items = Array.from({ length: 4 }, (_, i) => ({
      content: `export const queued${i} = ${i}\n`,
      file_path: `q${i}.ts`,
      namespace: 'onex.queued',
      intelligence: false,
    }))
    const res = await call('POST', '/workflows/stamp', { items })
    assert.equal(res.status, 200, JSON.stringify(res.body))
    assert.equal(res.body.data.completed, 4)
    for (const wf of res.body.data.workflows as Json[]) {
      const d = (await call('GET', `/workflows/${wf.workflow_id}`)).body.data
      assert.deepEqual(
        d.transitions.map((x: Json) => [x.from_state, x.to_state]),
        [
          ['pending', 'processing'],
          ['processing', 'completed'],
        ],
        wf.workflow_id,
      )
      assert.ok(d.started_at >= d.created_at && d.finished_at >= d.started_at, JSON.stringify(d))
      assert.equal(d.steps.length, 4, 'intelligence off: four steps')
      await until('its events', () => ofWorkflow('completed', wf.workflow_id).length === 1)
      assert.equal(ofWorkflow('started', wf.workflow_id).length, 1)
      assert.deepEqual(
        ofWorkflow('transition', wf.workflow_id).map((e) => e.payload['to_state']),
        ['processing', 'completed'],
      )
    }
  })

  test(`OnexTree slow or failing: workflows complete degraded; back: not degraded (${backend})`, {
    skip,
  }, async (t) => {
    const onextree = await startFakeOnexTree(t, 1500)
    const { bus, call, ofWorkflow } = await bridgeOn(t, backend, {
      onextreeUrl: onextree.url,
      onextreeTimeoutMs: 300,
      onextreeCacheTtlMs: 0,
    })
    const run = async (content: string) =>
      (await call('POST', '/workflows/stamp', { content, file_path: 'x.ts', namespace: 'onex.intel' })).body
        .data.workflows[0]

    const healthy = await run('export const a = 1\n')
    assert.deepEqual([healthy.state, healthy.degraded], ['completed', false])
    const stored = await call('GET', `/stamp/${healthy.file_hash}?namespace=onex.intel`)
    assert.deepEqual(stored.body.data.records[0].intelligence_data.patterns, ['onex.node'])
    assert.equal(stored.body.data.records[0].intelligence_data.source, 'onextree')

    onextree.state.mode = 'slow'
    const slow = await run('export const b = 2\n')
    assert.deepEqual([slow.state, slow.degraded], ['completed', true])
    assert.equal(slow.steps[1].status, 'degraded')
    const detail = (await call('GET', `/workflows/${slow.workflow_id}`)).body.data
    assert.equal(detail.degraded, true)
    assert.equal(detail.steps[1].output.degraded_reason, 'OnexTree did not answer within 300 ms')
    assert.equal(detail.steps[1].output.language, 'typescript', 'the local analyser answered')

    onextree.state.mode = 'failing'
    const failing = await run('export const c = 3\n')
    assert.deepEqual([failing.state, failing.degraded], ['completed', true])

    onextree.state.mode = 'ok'
    const back = await run('export const d = 4\n')
    assert.deepEqual([back.state, back.degraded], ['completed', false])

    await until('the completion events', () => ofWorkflow('completed', back.workflow_id).length === 1)
    assert.equal(ofWorkflow('completed', slow.workflow_id)[0]!.payload['degraded'], true)
    assert.equal(ofWorkflow('completed', back.workflow_id)[0]!.payload['degraded'], false)
    const stepEvent = ofWorkflow('step', slow.workflow_id).find(
      (e) => e.payload['step'] === 'onextree_intelligence',
    )
    assert.equal(stepEvent!.payload['status'], 'degraded')
    assert.ok(bus.topic(topic.completed).length >= 4)
  })

  test(`the contract's step timeout and retry policy drive the step (${backend})`, { skip }, async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'omninode-contracts-'))
    t.after(() => rmSync(dir, { recursive: true, force: true }))
    mkdirSync(join(dir, 'orchestrator'))
    const own = readFileSync(new URL('../../src/nodes/orchestrator/contract.yaml', import.meta.url), 'utf8')
    const tuned = own.replace(
      /- name: onextree_intelligence\n([\s\S]*?)timeout_ms: 2000\n {6}retry_policy: .*\n/,
      '- name: onextree_intelligence\n$1timeout_ms: 40\n      retry_policy: { max_attempts: 3, initial_backoff_ms: 5, max_backoff_ms: 5 }\n',
    )
    assert.notEqual(tuned, own)
    writeFileSync(join(dir, 'orchestrator', 'contract.yaml'), tuned)
    const onextree = await startFakeOnexTree(t, 2000)
    onextree.state.mode = 'slow'
    const { call } = await bridgeOn(t, backend, {
      contractDir: dir,
      onextreeUrl: onextree.url,
      onextreeTimeoutMs: 1000,
      onextreeFailureThreshold: 100,
    })
    const res = await call('POST', '/workflows/stamp', { content: 'x\n', namespace: 'onex.tuned' })
    const wf = res.body.data.workflows[0]
    assert.deepEqual([wf.state, wf.degraded], ['completed', true])
    const step = (await call('GET', `/workflows/${wf.workflow_id}`)).body.data.steps[1]
    assert.equal(step.step, 'onextree_intelligence')
    assert.equal(step.status, 'degraded')
    assert.equal(step.attempts, 3, 'the contract allows three attempts')
    assert.equal(step.error.code, 'ONEX_CORE_052_TIMEOUT')
    assert.match(step.error.message, /took longer than its 40 ms/)
  })
}
