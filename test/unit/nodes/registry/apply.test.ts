import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { Heartbeat, Introspection, Tombstone } from '../../../../src/core/registry/payloads.ts'
import { planBatch, type RegistryInput, sameJson } from '../../../../src/nodes/registry/apply.ts'
import type { NodeState } from '../../../../src/nodes/registry/store.ts'

const at = (s: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, s))
const meta = (s: number, id = `e-${s}-${Math.random()}`) => ({ eventId: id, eventAt: at(s) })

function introspection(nodeId: string, s: number, over: Partial<Introspection> = {}): RegistryInput {
  const payload: Introspection = {
    node_id: nodeId,
    node_type: 'compute',
    node_version: '1.0.0',
    namespace: 'omninode.team_a',
    capabilities: { gpu: true, slots: 2 },
    endpoints: { health: 'http://127.0.0.1:9/health' },
    metadata: {},
    lease_ttl_seconds: 30,
    ...over,
  }
  return { kind: 'introspection', payload, meta: meta(s) }
}

function heartbeat(nodeId: string, s: number, health: Heartbeat['health_status'] = 'healthy'): RegistryInput {
  const payload: Heartbeat = {
    node_id: nodeId,
    node_type: 'compute',
    health_status: health,
    uptime_seconds: 1,
    active_operations: 0,
    resource_usage: { cpu_percent: 1, memory_mb: 1 },
  }
  return { kind: 'heartbeat', payload, meta: meta(s) }
}

function tombstone(nodeId: string, s: number): RegistryInput {
  const payload: Tombstone = {
    node_id: nodeId,
    node_type: 'compute',
    removal_reason: 'graceful_shutdown',
    removal_timestamp: at(s).toISOString(),
    final_status: 'healthy',
  }
  return { kind: 'tombstone', payload, meta: meta(s) }
}

/** A stored, live registration (as lockMany reads it: jsonb keys in jsonb's order). */
function stored(nodeId: string, s: number, over: Partial<NodeState> = {}): NodeState {
  return {
    node_id: nodeId,
    namespace: 'omninode.team_a',
    node_type: 'compute',
    node_role: null,
    node_version: '1.0.0',
    capabilities: { gpu: true, slots: 2 },
    endpoints: { health: 'http://127.0.0.1:9/health' },
    health_status: 'healthy',
    last_heartbeat: at(s),
    last_event_at: at(s),
    removed_at: null,
    removal_reason: null,
    ...over,
  }
}

test('a batch holding duplicate and reordered events of one node: the newest wins, one change', () => {
  const first = introspection('n-1', 10, { node_version: '1.0.0' })
  const plan = planBatch(
    new Map(),
    [
      first,
      introspection('n-1', 12, { node_version: '1.2.0' }),
      first, // a duplicate, after a newer one
      introspection('n-1', 11, { node_version: '1.1.0' }), // older than what was applied
    ],
    undefined,
  )
  assert.deepEqual(plan.outcomes, ['applied', 'applied', 'stale', 'stale'])
  assert.equal(plan.upserts.length, 1)
  assert.equal(plan.upserts[0]!.row.node_version, '1.2.0')
  assert.equal(plan.upserts[0]!.row.last_event_at.getTime(), at(12).getTime())
  assert.deepEqual(
    plan.changes.map((c) => [c.change_type, c.node_id, c.node?.node_version]),
    [['added', 'n-1', '1.2.0']],
  )
})

test('a duplicate of what is stored, and a heartbeat that changes no health, queue no change', () => {
  const before = new Map([['n-1', stored('n-1', 10, { capabilities: { slots: 2, gpu: true } })]])
  const plan = planBatch(before, [introspection('n-1', 10), heartbeat('n-1', 11)], undefined)
  assert.deepEqual(plan.outcomes, ['applied', 'applied'])
  assert.equal(plan.upserts.length, 1, 'the lease is renewed')
  assert.equal(plan.upserts[0]!.extendLease, true)
  assert.deepEqual(plan.changes, [], 'capabilities in another key order are the same')
  assert.deepEqual(plan.healthChanges, [])
  const beats = planBatch(before, [heartbeat('n-1', 11), heartbeat('n-1', 12)], undefined)
  assert.equal(beats.updates.length, 1)
  assert.deepEqual(beats.changes, [])
})

test('heartbeats out of order: the newest sets the health; the net change is one event and one diff', () => {
  const before = new Map([['n-1', stored('n-1', 10)]])
  const plan = planBatch(
    before,
    [heartbeat('n-1', 13, 'degraded'), heartbeat('n-1', 12, 'critical'), heartbeat('n-1', 11, 'healthy')],
    undefined,
  )
  assert.equal(plan.updates[0]!.row.health_status, 'degraded')
  assert.equal(plan.updates[0]!.row.last_heartbeat.getTime(), at(13).getTime())
  assert.deepEqual(plan.healthChanges, [
    { nodeId: 'n-1', namespace: 'omninode.team_a', from: 'healthy', to: 'degraded' },
  ])
  assert.deepEqual(
    plan.changes.map((c) => [c.change_type, c.changed_fields]),
    [['updated', ['health_status']]],
  )
  // back and forth within one batch: nothing changed in the end
  const flap = planBatch(
    before,
    [heartbeat('n-1', 11, 'degraded'), heartbeat('n-1', 12, 'healthy')],
    undefined,
  )
  assert.deepEqual(flap.changes, [])
  assert.deepEqual(flap.healthChanges, [])
})

test('a batch mixing a refused namespace with accepted nodes: the refused is stored nowhere', () => {
  const plan = planBatch(
    new Map(),
    [
      introspection('a-1', 10),
      introspection('b-1', 10, { namespace: 'omninode.team_b' }),
      introspection('a-2', 10),
      heartbeat('b-1', 11),
    ],
    'omninode.team_a',
  )
  assert.deepEqual(plan.outcomes, ['applied', 'rejected', 'applied', 'unknown'])
  assert.deepEqual(
    plan.rejected.map((r) => r.payload.node_id),
    ['b-1'],
  )
  assert.deepEqual(
    plan.upserts.map((u) => u.row.node_id),
    ['a-1', 'a-2'],
  )
  assert.deepEqual(
    plan.changes.map((c) => c.node_id),
    ['a-1', 'a-2'],
  )
})

test('tombstones: an introspection issued before one stays stale; heartbeats after it ask to introspect', () => {
  const before = new Map([['n-1', stored('n-1', 10)]])
  const plan = planBatch(
    before,
    [tombstone('n-1', 20), introspection('n-1', 15), heartbeat('n-1', 21), heartbeat('n-1', 22)],
    undefined,
  )
  assert.deepEqual(plan.outcomes, ['applied', 'stale', 'unknown', 'unknown'])
  assert.deepEqual(
    plan.unknown.map((u) => u.nodeId),
    ['n-1'],
    'asked once',
  )
  assert.equal(plan.updates[0]!.removed, true)
  assert.deepEqual(
    plan.changes.map((c) => [c.change_type, c.removal_reason]),
    [['removed', 'graceful_shutdown']],
  )
  // added and removed within one batch: the row is kept (as the tombstone) and the topology never saw it
  const brief = planBatch(new Map(), [introspection('n-2', 10), tombstone('n-2', 11)], undefined)
  assert.equal(brief.upserts[0]!.row.removal_reason, 'graceful_shutdown')
  assert.deepEqual(brief.changes, [])
  // a node announcing itself after its tombstone is back
  const back = planBatch(before, [tombstone('n-1', 20), introspection('n-1', 21)], undefined)
  assert.equal(back.upserts[0]!.row.removed_at, null)
  assert.deepEqual(back.changes, [])
})

test('sameJson compares as jsonb does', () => {
  assert.ok(sameJson({ a: 1, b: [1, { c: 2 }] }, { b: [1, { c: 2 }], a: 1 }))
  assert.ok(!sameJson({ a: 1 }, { a: 1, b: 2 }))
  assert.ok(!sameJson([1, 2], [2, 1]))
  assert.ok(!sameJson({ a: null }, {}))
})
