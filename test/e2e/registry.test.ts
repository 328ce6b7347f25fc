import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { type TestContext, test } from 'node:test'
import { createEnvelope, type OnexEnvelopeV1 } from '../../src/core/events/envelope.ts'
import { topicName } from '../../src/core/events/topics.ts'
import type { Introspection, TopologyDiff } from '../../src/core/registry/payloads.ts'
import { TopologyClient } from '../../src/core/registry/topology-mirror.ts'
import type { BridgeConfig } from '../../src/runtime/config/load.ts'
import { startTestBridge } from '../helpers/bridge.ts'
import { type Dialect, dialects, skipReason } from '../helpers/database-backends.ts'
import { RecordingBus } from '../helpers/recording-bus.ts'
import { until } from '../helpers/until.ts'

// biome-ignore lint/suspicious/noExplicitAny: responses are checked field by field below
type Json = Record<string, any>

const t = {
  introspection: topicName('development', 'nodeIntrospection'),
  heartbeat: topicName('development', 'nodeHeartbeat'),
  tombstone: topicName('development', 'nodeTombstone'),
  request: topicName('development', 'registryRequestIntrospection'),
  diff: topicName('development', 'topologyDiff'),
  rejected: topicName('development', 'nodeRegistrationRejected'),
  health: topicName('development', 'nodeHealthChanged'),
}
const relay = { pollIntervalMs: 20, initialBackoffMs: 10, maxBackoffMs: 50 }
const base = 'http://127.0.0.1:18053'
const config: Partial<BridgeConfig> = {
  nodes: ['stamping', 'registry'],
  heartbeatIntervalSeconds: 0.5,
  registryLeaderLeaseSeconds: 1,
}

/** An external node's events, as another process would publish them. */
function event(type: string, payload: object, at = new Date()): OnexEnvelopeV1 {
  const id = (payload as { node_id: string }).node_id
  return createEnvelope(
    { nodeId: id, version: '1.0.0', environment: 'development' },
    {
      eventType: type,
      payload: payload as Record<string, unknown>,
      partitionKey: id,
      correlationId: randomUUID(),
    },
    { eventId: randomUUID(), now: at },
  )
}

function introspection(nodeId: string, over: Partial<Introspection> = {}): Introspection {
  return {
    node_id: nodeId,
    node_type: 'compute',
    node_role: 'adapter',
    node_version: '1.0.0',
    namespace: 'omninode.bridge',
    capabilities: { gpu: true },
    endpoints: {
      health: 'http://127.0.0.1:9/health',
      api: 'http://127.0.0.1:9',
      metrics: 'http://127.0.0.1:9/metrics',
    },
    metadata: {},
    lease_ttl_seconds: 30,
    ...over,
  }
}

function heartbeat(nodeId: string, health = 'healthy') {
  return {
    node_id: nodeId,
    node_type: 'compute',
    health_status: health,
    uptime_seconds: 1,
    active_operations: 0,
    resource_usage: { cpu_percent: 1, memory_mb: 10 },
  }
}

async function start(tc: TestContext, backend: Dialect, extra: Partial<BridgeConfig> = {}) {
  const bus = new RecordingBus()
  const bridge = await startTestBridge(tc, { backend, bus, relay, config: { ...config, ...extra } })
  const call = async (method: 'GET' | 'POST' | 'DELETE', url: string, payload?: unknown) => {
    const res = await bridge.app.inject({
      method,
      url,
      ...(payload === undefined ? {} : { payload: payload as Json }),
    })
    return { status: res.statusCode, body: res.json() as Json }
  }
  const diffs = () => bus.topic(t.diff).map((e) => e.payload as unknown as TopologyDiff)
  const nodeIds = async () =>
    ((await call('GET', '/nodes')).body.data.nodes as Json[]).map((n) => n.node_id).sort()
  return { bus, bridge, call, diffs, nodeIds }
}

/** Versions seen on the bus are 1..n, each once, each following the previous. */
function assertGapless(diffs: TopologyDiff[]) {
  diffs.forEach((d, i) => {
    assert.equal(d.topology_version, i + 1, `diff ${i} has version ${d.topology_version}`)
    assert.equal(d.previous_version, i)
  })
}

for (const backend of dialects) {
  const skip = skipReason(backend)
  test(`node runtime: introspection, heartbeats, answers, tombstones (${backend})`, { skip }, (tc) =>
    nodeRuntime(tc, backend),
  )
  test(`registry: registrations, leases, topology versions and diffs (${backend})`, { skip }, (tc) =>
    registrations(tc, backend),
  )
  test(`registry: namespaces are enforced (${backend})`, { skip }, (tc) => namespaces(tc, backend))
}

async function nodeRuntime(tc: TestContext, backend: Dialect) {
  const { bus, bridge, nodeIds } = await start(tc, backend)
  await bridge.announce(base)
  const ids = ['registry@127.0.0.1:18053', 'stamping@127.0.0.1:18053']

  await tc.test('every hosted node announces itself once the server listens', async () => {
    await until('both introspections', () => bus.topic(t.introspection).length >= 2)
    const stamping = bus.topic(t.introspection).find((e) => e.payload['node_id'] === ids[1])!
    assert.equal(stamping.event_type, 'NODE_INTROSPECTION')
    assert.equal(stamping.source_node_id, ids[1])
    const p = stamping.payload as Json
    assert.deepEqual(p['endpoints'], { health: `${base}/health`, api: base, metrics: `${base}/metrics` })
    assert.equal(p['node_type'], 'effect')
    assert.equal(p['namespace'], 'omninode.bridge')
    assert.equal(p['lease_ttl_seconds'], 1, 'two heartbeat intervals')
    assert.ok(p['capabilities']['operations'].includes('stamp'))
    const registry = bus.topic(t.introspection).find((e) => e.payload['node_id'] === ids[0])!
    assert.equal(registry.payload['node_role'], 'registry')
    await until('the registry lists both', async () => (await nodeIds()).join() === ids.join(), 10_000)
  })

  await tc.test('NODE_HEARTBEAT every interval, with the DESIGN payload', async () => {
    await until('two heartbeats per node', () => bus.topic(t.heartbeat).length >= 4, 5000)
    const hb = bus.topic(t.heartbeat)[0]!.payload as Json
    assert.deepEqual(Object.keys(hb).sort(), [
      'active_operations',
      'health_status',
      'namespace',
      'node_id',
      'node_type',
      'resource_usage',
      'uptime_seconds',
    ])
    assert.equal(hb['health_status'], 'healthy')
    assert.ok(hb['resource_usage']['memory_mb'] > 0)
  })

  await tc.test('REGISTRY_REQUEST_INTROSPECTION is answered with its correlation_id', async () => {
    const request = createEnvelope(
      { nodeId: 'tester', version: '1', environment: 'development' },
      {
        eventType: 'REGISTRY_REQUEST_INTROSPECTION',
        payload: { reason: 'test' },
        correlationId: randomUUID(),
      },
      { eventId: randomUUID(), now: new Date() },
    )
    await bus.publish(t.request, request)
    await until(
      'two answers',
      () =>
        bus.topic(t.introspection).filter((e) => e.correlation_id === request.correlation_id).length === 2,
    )
    for (const answer of bus
      .topic(t.introspection)
      .filter((e) => e.correlation_id === request.correlation_id))
      assert.equal(answer.causation_id, request.event_id)
    // a request for one node only is answered by that node only
    const one = createEnvelope(
      { nodeId: 'tester', version: '1', environment: 'development' },
      {
        eventType: 'REGISTRY_REQUEST_INTROSPECTION',
        payload: { reason: 'test', node_ids: [ids[1]] },
        correlationId: randomUUID(),
      },
      { eventId: randomUUID(), now: new Date() },
    )
    await bus.publish(t.request, one)
    await until('one answer', () =>
      bus.topic(t.introspection).some((e) => e.correlation_id === one.correlation_id),
    )
    await bus.publish(t.request, request) // and the same request again changes nothing (deduplicated)
    await new Promise((r) => setTimeout(r, 200))
    assert.deepEqual(
      bus
        .topic(t.introspection)
        .filter((e) => e.correlation_id === one.correlation_id)
        .map((e) => e.payload['node_id']),
      [ids[1]],
    )
    assert.equal(
      bus.topic(t.introspection).filter((e) => e.correlation_id === request.correlation_id).length,
      2,
    )
  })

  await tc.test('a clean stop publishes NODE_TOMBSTONE graceful_shutdown for every node', async () => {
    await bridge.close()
    const stones = bus.topic(t.tombstone).filter((e) => e.payload['removal_reason'] === 'graceful_shutdown')
    assert.deepEqual(stones.map((e) => e.payload['node_id']).sort(), ids)
  })
}

async function registrations(tc: TestContext, backend: Dialect) {
  const { bus, bridge, call, diffs, nodeIds } = await start(tc, backend)
  await until('the registry leads', async () => (await call('GET', '/topology')).status === 200)

  await tc.test(
    'an introspection from the bus adds the node; GET /nodes/{id}; a diff is published',
    async () => {
      await bus.publish(t.introspection, event('NODE_INTROSPECTION', introspection('gpu-1')))
      await until('gpu-1 listed', async () => (await nodeIds()).includes('gpu-1'))
      const res = await call('GET', '/nodes/gpu-1')
      assert.equal(res.status, 200)
      assert.equal(res.body.data.node_role, 'adapter')
      assert.equal(res.body.data.health_status, 'healthy')
      await until('the diff', () => diffs().some((d) => d.changes.some((c) => c.node_id === 'gpu-1')))
      const change = diffs()
        .flatMap((d) => d.changes)
        .find((c) => c.node_id === 'gpu-1')!
      assert.equal(change.change_type, 'added')
      assert.deepEqual(change.capabilities, { gpu: true })
      assertGapless(diffs())
    },
  )

  await tc.test('duplicates and reordered events are harmless', async () => {
    const before = diffs().length
    const first = event('NODE_INTROSPECTION', introspection('gpu-1'))
    await bus.publish(t.introspection, first)
    await bus.publish(t.introspection, first) // the same event twice
    const old = event(
      'NODE_INTROSPECTION',
      introspection('gpu-1', { node_version: '0.9.0' }),
      new Date(Date.now() - 60_000),
    )
    await bus.publish(t.introspection, old) // older than what was applied
    await new Promise((r) => setTimeout(r, 400))
    assert.equal(diffs().length, before, 'no new version')
    assert.equal((await call('GET', '/nodes/gpu-1')).body.data.node_version, '1.0.0')
    // a tombstone, then an introspection issued before it: the node stays removed
    const at = new Date()
    await bus.publish(
      t.introspection,
      event('NODE_INTROSPECTION', introspection('cpu-9'), new Date(at.getTime() - 1000)),
    )
    await until('cpu-9 listed', async () => (await nodeIds()).includes('cpu-9'))
    const stone = {
      node_id: 'cpu-9',
      node_type: 'compute',
      removal_reason: 'graceful_shutdown',
      removal_timestamp: at.toISOString(),
      final_status: 'healthy',
    }
    await bus.publish(t.tombstone, event('NODE_TOMBSTONE', stone, at))
    await bus.publish(
      t.introspection,
      event('NODE_INTROSPECTION', introspection('cpu-9'), new Date(at.getTime() - 500)),
    )
    await until('cpu-9 removed', async () => !(await nodeIds()).includes('cpu-9'))
    await new Promise((r) => setTimeout(r, 300))
    assert.ok(!(await nodeIds()).includes('cpu-9'))
    assert.equal((await call('GET', '/nodes/cpu-9')).body.data.removal_reason, 'graceful_shutdown')
  })

  await tc.test('a capability change is an updated change naming the field', async () => {
    await bus.publish(
      t.introspection,
      event('NODE_INTROSPECTION', introspection('gpu-1', { capabilities: { gpu: true, fp8: true } })),
    )
    await until('the update', () =>
      diffs().some((d) => d.changes.some((c) => c.node_id === 'gpu-1' && c.change_type === 'updated')),
    )
    const change = diffs()
      .flatMap((d) => d.changes)
      .find((c) => c.node_id === 'gpu-1' && c.change_type === 'updated')!
    assert.deepEqual(change.changed_fields, ['capabilities'])
  })

  await tc.test('heartbeats set health; a change is an event, a diff and a metric', async () => {
    await bus.publish(t.heartbeat, event('NODE_HEARTBEAT', heartbeat('gpu-1', 'degraded')))
    await until('the health event', () => bus.topic(t.health).length === 1)
    assert.deepEqual(bus.topic(t.health)[0]!.payload, {
      node_id: 'gpu-1',
      namespace: 'omninode.bridge',
      previous_status: 'healthy',
      health_status: 'degraded',
    })
    await until('the diff', () =>
      diffs().some((d) => d.changes.some((c) => c.changed_fields?.includes('health_status'))),
    )
    const metrics = await bridge.app.inject({ method: 'GET', url: '/metrics' })
    assert.match(metrics.body, /omninode_registry_health_changes_total\{from="healthy",to="degraded"\} [1-9]/)
  })

  await tc.test('GET /nodes filters, and lists healthy nodes first', async () => {
    await bus.publish(
      t.introspection,
      event('NODE_INTROSPECTION', introspection('gpu-2', { capabilities: { gpu: true } })),
    )
    await until('gpu-2 listed', async () => (await nodeIds()).includes('gpu-2'))
    const all = (await call('GET', '/nodes?type=compute')).body.data.nodes as Json[]
    assert.deepEqual(
      all.map((n) => n.node_id),
      ['gpu-2', 'gpu-1'],
      'healthy gpu-2 before degraded gpu-1',
    )
    assert.deepEqual(
      ((await call('GET', '/nodes?capability=fp8')).body.data.nodes as Json[]).map((n) => n.node_id),
      ['gpu-1'],
    )
    assert.deepEqual(
      ((await call('GET', '/nodes?health=degraded')).body.data.nodes as Json[]).map((n) => n.node_id),
      ['gpu-1'],
    )
    assert.equal((await call('GET', '/nodes?role=adapter')).body.data.count, 2)
    const bad = await call('GET', '/nodes?health=sleepy')
    assert.equal(bad.status, 400)
    assert.equal(bad.body.error.code, 'ONEX_CORE_007_INVALID_INPUT')
    assert.ok(JSON.stringify(bad.body.error.details).includes('health'))
    assert.equal((await call('GET', '/nodes/nope')).status, 404)
  })

  await tc.test('DELETE /nodes/{id}: manual_deregistration with its tombstone and diff', async () => {
    const res = await call('DELETE', '/nodes/gpu-2')
    assert.equal(res.status, 200)
    assert.equal(res.body.data.removal_reason, 'manual_deregistration')
    await until('the tombstone', () => bus.topic(t.tombstone).some((e) => e.payload['node_id'] === 'gpu-2'))
    await until('the removal diff', () =>
      diffs().some((d) => d.changes.some((c) => c.node_id === 'gpu-2' && c.change_type === 'removed')),
    )
    assert.equal((await call('DELETE', '/nodes/gpu-2')).status, 404)
  })

  await tc.test('an expired lease removes the node (lease_expired) and publishes its tombstone', async () => {
    const res = await call('POST', '/nodes', introspection('short-1', { lease_ttl_seconds: 0.3 }))
    assert.equal(res.status, 200, JSON.stringify(res.body))
    assert.equal(res.body.data.outcome, 'added')
    await until(
      'the lease expired',
      () => bus.topic(t.tombstone).some((e) => e.payload['node_id'] === 'short-1'),
      5000,
    )
    const stone = bus.topic(t.tombstone).find((e) => e.payload['node_id'] === 'short-1')!
    assert.equal(stone.payload['removal_reason'], 'lease_expired')
    assert.equal((await call('GET', '/nodes/short-1')).body.data.removal_reason, 'lease_expired')
    await until('its removal diff', () =>
      diffs().some((d) =>
        d.changes.some((c) => c.node_id === 'short-1' && c.removal_reason === 'lease_expired'),
      ),
    )
  })

  await tc.test('a heartbeat from an unknown node asks it to introspect', async () => {
    await bus.publish(t.heartbeat, event('NODE_HEARTBEAT', heartbeat('ghost-1')))
    await until('the request', () =>
      bus.topic(t.request).some((e) => (e.payload['node_ids'] as string[] | undefined)?.includes('ghost-1')),
    )
  })

  await tc.test(
    'GET /topology and /topology/diffs agree; a client mirror rebuilds the snapshot',
    async () => {
      await until('everything versioned', async () => {
        const snap = (await call('GET', '/topology')).body.data
        return snap.topology_version === diffs().length
      })
      const snap = (await call('GET', '/topology')).body.data
      const all = (await call('GET', '/topology/diffs?since=0')).body.data
      assert.equal(all.latest, snap.topology_version)
      assertGapless(all.diffs)
      assertGapless(diffs())
      const { TopologyMirror } = await import('../../src/core/registry/topology-mirror.ts')
      const mirror = new TopologyMirror()
      mirror.reset({ topology_version: 0, nodes: [] })
      for (const d of all.diffs) assert.equal(mirror.apply(d), 'applied')
      assert.deepEqual(
        mirror.nodes.map((n) => n.node_id).sort(),
        (snap.nodes as Json[]).map((n) => n.node_id).sort(),
      )
      const ahead = await call('GET', `/topology/diffs?since=${snap.topology_version + 5}`)
      assert.equal(ahead.status, 400)
      assert.equal((await call('GET', '/topology/diffs?since=-1')).status, 400)
      assert.equal((await call('GET', '/topology/diffs')).status, 400)
      const huge = await call('GET', '/topology/diffs?since=99999999999999999999')
      assert.equal(huge.status, 400, 'never a database error for a bad number')
      assert.equal(huge.body.error.details.issues[0].field, 'since')
      const forever = await call('POST', '/nodes', introspection('x-1', { lease_ttl_seconds: 1e12 }))
      assert.equal(forever.status, 400)
      assert.equal(forever.body.error.details.issues[0].field, 'lease_ttl_seconds')
      const missing = await call('POST', '/nodes', { node_id: 'x-2' })
      assert.equal(missing.status, 400)
      assert.ok((missing.body.error.details.issues as Json[]).some((i) => i.field === 'node_type'))
    },
  )
}

async function namespaces(tc: TestContext, backend: Dialect) {
  const { bus, call, nodeIds } = await start(tc, backend, {
    registryNamespace: 'omninode.team_a',
    nodes: ['registry'],
  })
  const res = await call('POST', '/nodes', introspection('b-1', { namespace: 'omninode.team_b' }))
  assert.equal(res.status, 403)
  assert.equal(res.body.error.code, 'ONEX_CORE_016_FORBIDDEN')
  assert.equal(res.body.error.details.field, 'namespace')
  const refused = event('NODE_INTROSPECTION', introspection('b-2', { namespace: 'omninode.team_b' }))
  await bus.publish(t.introspection, refused)
  await until('the rejection', () => bus.topic(t.rejected).length === 1)
  const rejection = bus.topic(t.rejected)[0]!
  assert.equal(rejection.causation_id, refused.event_id)
  assert.equal(rejection.payload['served_namespace'], 'omninode.team_a')
  assert.equal((await call('GET', '/nodes/b-1')).status, 404)
  assert.equal((await call('GET', '/nodes/b-2')).status, 404)
  assert.equal((await call('GET', '/nodes?namespace=omninode.team_b')).status, 403)
  assert.equal(
    (await call('POST', '/nodes', introspection('a-1', { namespace: 'omninode.team_a' }))).status,
    200,
  )
  assert.deepEqual(await nodeIds(), ['a-1'])
}

for (const backend of dialects) {
  test(`topology stream (SSE) and diff retention (${backend})`, { skip: skipReason(backend) }, (tc) =>
    streamAndRetention(tc, backend),
  )
}

/** Reads server-sent events from a real socket. */
async function sse(url: string, signal: AbortSignal) {
  const res = await fetch(url, { signal })
  assert.equal(res.status, 200)
  assert.match(res.headers.get('content-type') ?? '', /^text\/event-stream/)
  // fetch asks for gzip, and a compressor would hold the events back: the stream is never compressed
  assert.equal(res.headers.get('content-encoding'), null)
  const events: Array<{ event: string; id: string | undefined; data: Json }> = []
  const done = (async () => {
    const decoder = new TextDecoder()
    let buffer = ''
    try {
      for await (const chunk of res.body!) {
        buffer += decoder.decode(chunk, { stream: true })
        let end = buffer.indexOf('\n\n')
        while (end >= 0) {
          const block = buffer.slice(0, end)
          buffer = buffer.slice(end + 2)
          const fields = Object.fromEntries(
            block
              .split('\n')
              .filter((l) => !l.startsWith(':') && l.includes(': '))
              .map((l) => [l.slice(0, l.indexOf(': ')), l.slice(l.indexOf(': ') + 2)]),
          )
          if (fields['data'])
            events.push({
              event: fields['event'] ?? 'message',
              id: fields['id'],
              data: JSON.parse(fields['data']),
            })
          end = buffer.indexOf('\n\n')
        }
      }
    } catch {
      // aborted
    }
  })()
  return { events, done }
}

async function streamAndRetention(tc: TestContext, backend: Dialect) {
  const { bridge, call } = await start(tc, backend, { nodes: ['registry'], registryVersionsKept: 10 })
  const url = await bridge.app.listen({ host: '127.0.0.1', port: 0 })
  const abort = new AbortController()
  tc.after(() => abort.abort())
  const version = async () => (await call('GET', '/topology')).body.data.topology_version as number
  const stream = await sse(`${url}/topology/stream?since=0`, abort.signal)
  for (let i = 1; i <= 15; i++) {
    assert.equal((await call('POST', '/nodes', introspection(`n-${i}`))).status, 200)
    await until(`version ${i}`, async () => (await version()) === i)
  }
  await until('15 diffs streamed', () => stream.events.length === 15)
  assert.deepEqual(
    stream.events.map((e) => [e.event, Number(e.id), e.data.topology_version, e.data.changes[0].node_id]),
    Array.from({ length: 15 }, (_, i) => ['diff', i + 1, i + 1, `n-${i + 1}`]),
  )
  // only the newest 10 versions are kept: older asks get 410 and a resync
  const gone = await call('GET', '/topology/diffs?since=2')
  assert.equal(gone.status, 410)
  assert.equal(gone.body.error.code, 'ONEX_CORE_031_GONE')
  assert.equal(gone.body.error.details.oldest_kept, 6)
  const kept = await call('GET', '/topology/diffs?since=5')
  assert.equal(kept.status, 200)
  assert.deepEqual(
    (kept.body.data.diffs as Json[]).map((d) => d.topology_version),
    [6, 7, 8, 9, 10, 11, 12, 13, 14, 15],
  )
  // a TopologyClient over HTTP, fed the stream with versions 12 and 13 lost: it catches up by itself
  const client = new TopologyClient({
    snapshot: async () => ((await (await fetch(`${url}/topology`)).json()) as Json).data,
    diffsSince: async (since) => {
      const res = await fetch(`${url}/topology/diffs?since=${since}`)
      return res.status === 410 ? undefined : ((await res.json()) as Json).data.diffs
    },
  })
  client.mirror.reset({
    topology_version: 10,
    nodes: stream.events.slice(0, 10).map((e) => e.data.changes[0].node),
  })
  assert.equal(await client.receive(stream.events[10]!.data as TopologyDiff), 'applied')
  assert.equal(await client.receive(stream.events[13]!.data as TopologyDiff), 'gap')
  assert.equal(client.mirror.version, 15)
  assert.equal(client.resyncs, 0, 'the kept diffs were enough')
  const snapshot = (await call('GET', '/topology')).body.data
  assert.deepEqual(
    client.mirror.nodes.sort((a, b) => a.node_id.localeCompare(b.node_id)),
    snapshot.nodes,
  )
  // one that fell behind what is kept reloads the snapshot (410)
  const behind = new TopologyClient({
    snapshot: async () => ((await (await fetch(`${url}/topology`)).json()) as Json).data,
    diffsSince: async (since) => {
      const res = await fetch(`${url}/topology/diffs?since=${since}`)
      return res.status === 410 ? undefined : ((await res.json()) as Json).data.diffs
    },
  })
  behind.mirror.reset({ topology_version: 2, nodes: [] })
  assert.equal(await behind.receive(stream.events[14]!.data as TopologyDiff), 'gap')
  assert.equal(behind.resyncs, 1)
  assert.equal(behind.mirror.version, 15)
  assert.equal(behind.mirror.nodes.length, 15)

  const late = await sse(`${url}/topology/stream?since=1`, abort.signal)
  await late.done
  assert.deepEqual(
    late.events.map((e) => e.event),
    ['resync'],
  )
  // Last-Event-ID resumes where a client left off
  const resumed = await fetch(`${url}/topology/stream`, {
    headers: { 'last-event-id': '13' },
    signal: abort.signal,
  })
  const reader = resumed.body!.getReader()
  let text = ''
  while (!text.includes('id: 15')) text += new TextDecoder().decode((await reader.read()).value)
  assert.deepEqual(
    [...text.matchAll(/^id: (\d+)$/gm)].map((m) => Number(m[1])),
    [14, 15],
  )
}

test('a registry that starts later asks every node to introspect, and the nodes answer', async (tc) => {
  const bus = new RecordingBus()
  const nodes = await startTestBridge(tc, { bus, relay, config: { ...config, nodes: ['stamping'] } })
  await nodes.announce('http://127.0.0.1:18054')
  await until('the first introspection', () => bus.topic(t.introspection).length === 1)
  // the registry comes up afterwards, in another process with its own database, on the same bus
  const registry = await startTestBridge(tc, { bus, relay, config: { ...config, nodes: ['registry'] } })
  await until('the start-up request', () => bus.topic(t.request).length === 1)
  const request = bus.topic(t.request)[0]!
  assert.equal(request.payload['reason'], 'registry_started')
  await until('the answer', () =>
    bus.topic(t.introspection).some((e) => e.correlation_id === request.correlation_id),
  )
  const answer = bus.topic(t.introspection).find((e) => e.correlation_id === request.correlation_id)!
  assert.equal(answer.causation_id, request.event_id)
  assert.equal(answer.payload['node_id'], 'stamping@127.0.0.1:18054')
  await until('the registry knows the node', async () => {
    const res = await registry.app.inject({ url: '/nodes/stamping@127.0.0.1:18054' })
    return res.statusCode === 200
  })
})
