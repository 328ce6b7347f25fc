import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { type TestContext, test } from 'node:test'
import { SqlOutbox } from '../../../../src/adapters/events/sql-outbox.ts'
import type { Introspection } from '../../../../src/core/registry/payloads.ts'
import type { RegistryInput } from '../../../../src/nodes/registry/apply.ts'
import { RegistryEvents } from '../../../../src/nodes/registry/events.ts'
import { Leadership } from '../../../../src/nodes/registry/leadership.ts'
import { RegistryService } from '../../../../src/nodes/registry/service.ts'
import { RegistryStore } from '../../../../src/nodes/registry/store.ts'
import { systemClock } from '../../../../src/ports/clock.ts'
import type { Database } from '../../../../src/ports/database.ts'
import { loadNodeContract } from '../../../../src/runtime/contracts.ts'
import { registryEventSettings } from '../../../../src/runtime/nodes.ts'
import { type Dialect, dialects, migratedDatabase, skipReason } from '../../../helpers/database-backends.ts'

async function setup(t: TestContext, dialect: Dialect, namespace: string | undefined) {
  const db: Database = await migratedDatabase(t, dialect)
  const events = new RegistryEvents(
    registryEventSettings(
      loadNodeContract('registry'),
      { nodeId: 'registry-test', version: '1.0.0', environment: 'development' },
      'development',
    ),
    systemClock,
  )
  const leadership = new Leadership(db, { name: 'registry:test', holder: 'test', ttlMs: 10_000 })
  const service = new RegistryService({
    db,
    store: new RegistryStore(db),
    events,
    outbox: new SqlOutbox(db),
    leadership,
    namespace,
    versionsKept: 100,
  })
  const outbox = async (eventType: string) =>
    (
      await db.query<{
        envelope: { event_type: string; causation_id?: string; payload: Record<string, unknown> }
      }>('SELECT envelope FROM event_outbox ORDER BY id')
    ).rows
      .map((r) => r.envelope)
      .filter((e) => e.event_type === eventType)
  const queued = async () =>
    (
      await db.query<{ change: { change_type: string; node_id: string } }>(
        'SELECT change FROM registry_changes ORDER BY id',
      )
    ).rows.map((r) => `${r.change.change_type}:${r.change.node_id}`)
  return { db, service, leadership, outbox, queued }
}

const at = (s: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, s))

function introspection(nodeId: string, s: number, over: Partial<Introspection> = {}): RegistryInput {
  return {
    kind: 'introspection',
    payload: {
      node_id: nodeId,
      node_type: 'compute',
      node_version: '1.0.0',
      namespace: 'omninode.team_a',
      capabilities: { gpu: true },
      endpoints: { health: 'http://127.0.0.1:9/health' },
      metadata: { rack: 7 },
      lease_ttl_seconds: 30,
      ...over,
    },
    meta: { eventId: randomUUID(), eventAt: at(s), correlationId: randomUUID() },
  }
}

function heartbeat(nodeId: string, s: number, health: 'healthy' | 'degraded'): RegistryInput {
  return {
    kind: 'heartbeat',
    payload: {
      node_id: nodeId,
      node_type: 'compute',
      health_status: health,
      uptime_seconds: 1,
      active_operations: 0,
      resource_usage: { cpu_percent: 1, memory_mb: 1 },
    },
    meta: { eventId: randomUUID(), eventAt: at(s) },
  }
}

for (const dialect of dialects) {
  const skip = skipReason(dialect)

  test(`one batch, one transaction: duplicates and reordered events of a node (${dialect})`, {
    skip,
  }, async (t) => {
    const { db, service, outbox, queued, leadership } = await setup(t, dialect, undefined)
    const first = introspection('n-1', 10)
    await service.apply([
      first,
      introspection('n-1', 12, { node_version: '1.2.0' }),
      first,
      introspection('n-1', 11, { node_version: '1.1.0' }),
      introspection('n-2', 10),
    ])
    const n1 = await service.find('n-1')
    assert.equal(n1.node_version, '1.2.0')
    assert.equal(n1.last_event_at.getTime(), at(12).getTime())
    assert.deepEqual(n1.metadata, { rack: 7 })
    assert.ok(n1.lease_expires_at.getTime() > Date.now() + 25_000, 'a lease from the database now')
    assert.deepEqual(await queued(), ['added:n-1', 'added:n-2'])

    // the same batch again (a redelivery): nothing new
    await service.apply([first, introspection('n-1', 12, { node_version: '1.2.0' })])
    assert.deepEqual(await queued(), ['added:n-1', 'added:n-2'])

    // heartbeats: the newest sets the health, one event and one change; a plain heartbeat queues nothing
    await service.apply([
      heartbeat('n-1', 14, 'degraded'),
      heartbeat('n-1', 13, 'healthy'),
      heartbeat('n-2', 13, 'healthy'),
    ])
    assert.equal((await service.find('n-1')).health_status, 'degraded')
    assert.equal((await service.find('n-1')).last_heartbeat.getTime(), at(14).getTime())
    assert.deepEqual(await queued(), ['added:n-1', 'added:n-2', 'updated:n-1'])
    const health = await outbox('NODE_HEALTH_CHANGED')
    assert.equal(health.length, 1)
    assert.deepEqual(health[0]!.payload, {
      node_id: 'n-1',
      namespace: 'omninode.team_a',
      previous_status: 'healthy',
      health_status: 'degraded',
    })

    // the leader versions them: one diff, versions consecutive
    await leadership.tick()
    const diff = await service.versionChanges(500)
    assert.equal(diff!.topology_version, 1)
    assert.deepEqual(
      diff!.changes.map((c) => `${c.change_type}:${c.node_id}`),
      ['added:n-1', 'added:n-2', 'updated:n-1'],
    )
    assert.equal(diff!.summary.total_nodes, 2)
    const snap = await service.snapshot()
    assert.deepEqual(
      snap.nodes.map((n) => [n.node_id, n.health_status, n.node_version]),
      [
        ['n-1', 'degraded', '1.2.0'],
        ['n-2', 'healthy', '1.0.0'],
      ],
    )
    await service.apply([heartbeat('n-2', 20, 'healthy')])
    assert.equal(await service.versionChanges(500), undefined, 'a heartbeat that changes nothing: no version')
    await db.query('SELECT 1')
  })

  test(`one batch mixing a refused namespace with accepted nodes (${dialect})`, { skip }, async (t) => {
    const { service, outbox, queued } = await setup(t, dialect, 'omninode.team_a')
    const refused = introspection('b-1', 10, { namespace: 'omninode.team_b' })
    await service.apply([
      introspection('a-1', 10),
      refused,
      introspection('a-2', 10),
      heartbeat('b-1', 11, 'healthy'),
    ])
    assert.deepEqual((await service.list({ limit: 10 })).map((n) => n.node_id).sort(), ['a-1', 'a-2'])
    await assert.rejects(service.find('b-1'), { name: 'NotFoundError' })
    const rejections = await outbox('NODE_REGISTRATION_REJECTED')
    assert.equal(rejections.length, 1)
    assert.equal(rejections[0]!.causation_id, refused.meta.eventId)
    assert.equal(rejections[0]!.payload['served_namespace'], 'omninode.team_a')
    assert.equal((await outbox('REGISTRY_REQUEST_INTROSPECTION')).length, 1, 'the unknown heartbeat')
    assert.deepEqual(await queued(), ['added:a-1', 'added:a-2'])
  })
}
