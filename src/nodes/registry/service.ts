import { channels, type NodeHealthChangedObservation } from '../../core/diagnostics.ts'
import { ForbiddenError, GoneError, InvalidInputError, NotFoundError } from '../../core/errors.ts'
import {
  type Heartbeat,
  type Introspection,
  servesNamespace,
  type Tombstone,
  type TopologyChange,
  type TopologyDiff,
  type TopologySnapshot,
} from '../../core/registry/payloads.ts'
import type { Database, Queryable } from '../../ports/database.ts'
import type { OutgoingMessage } from '../../ports/event-bus.ts'
import type { Outbox } from '../../ports/outbox.ts'
import type { RegistryEvents } from './events.ts'
import type { Leadership } from './leadership.ts'
import { type NodeQuery, type Registration, type RegistryStore, topologyNode } from './store.ts'

/** Where an event came from: its id, its time, its correlation (for answers and rejections). */
export interface EventMeta {
  eventId: string
  eventAt: Date
  correlationId?: string | undefined
}

export type RegistrationOutcome = 'added' | 'updated' | 'unchanged' | 'stale' | 'rejected'

export interface RegistryServiceDeps {
  db: Database
  store: RegistryStore
  events: RegistryEvents
  outbox: Outbox
  leadership: Leadership
  /** The one namespace this registry serves; undefined: every namespace. */
  namespace: string | undefined
  /** Topology versions kept for GET /topology/diffs. */
  versionsKept: number
  /** A change was queued (the leader loop versions it sooner). */
  onChange?: () => void
}

/** Fields of a registration whose change is a topology `updated` change. */
const watchedFields = [
  'namespace',
  'node_type',
  'node_role',
  'node_version',
  'capabilities',
  'endpoints',
  'health_status',
] as const

/**
 * The registry's logic, framework-free: registrations from introspection, heartbeat and tombstone
 * events (idempotent: a duplicate changes nothing, an older event than what was applied is ignored),
 * discovery queries, and the leader's work (versioning queued changes, expiring leases). Every change
 * of a registration queues a topology change in the same transaction; only the leader turns queued
 * changes into versions, inside its fenced transaction.
 */
export class RegistryService {
  #d: RegistryServiceDeps

  constructor(deps: RegistryServiceDeps) {
    this.#d = deps
  }

  get namespace(): string | undefined {
    return this.#d.namespace
  }

  /** NODE_INTROSPECTION (from the bus or POST /nodes), applied with `tx`. */
  async introspection(tx: Queryable, p: Introspection, meta: EventMeta): Promise<RegistrationOutcome> {
    const { store, events, namespace } = this.#d
    if (!servesNamespace(namespace, p.namespace)) {
      await this.#d.outbox.append(tx, [
        events.rejected(p, namespace!, { correlationId: meta.correlationId, causationId: meta.eventId }),
      ])
      return 'rejected'
    }
    const before = await store.lock(tx, p.node_id)
    if (before && before.last_event_at.getTime() > meta.eventAt.getTime()) return 'stale'
    const after = await store.register(tx, p, meta.eventAt)
    if (!before || before.removed_at !== null) {
      await this.#queue(tx, { ...changeOf(after, 'added') })
      return 'added'
    }
    const changed = changedFields(before, after)
    if (changed.length === 0) return 'unchanged'
    await this.#queue(tx, { ...changeOf(after, 'updated'), changed_fields: changed })
    return 'updated'
  }

  /** NODE_HEARTBEAT. An unknown (or removed) node is asked to introspect. */
  async heartbeat(tx: Queryable, p: Heartbeat, meta: EventMeta): Promise<'alive' | 'unknown' | 'ignored'> {
    const { store, events, namespace } = this.#d
    if (p.namespace !== undefined && !servesNamespace(namespace, p.namespace)) return 'ignored'
    const before = await store.lock(tx, p.node_id)
    if (!before || before.removed_at !== null) {
      await this.#d.outbox.append(tx, [
        events.requestIntrospection(
          { reason: 'heartbeat_from_unregistered_node', node_ids: [p.node_id] },
          { correlationId: meta.correlationId, causationId: meta.eventId },
        ),
      ])
      return 'unknown'
    }
    await store.heartbeat(tx, p.node_id, p.health_status, meta.eventAt)
    const newest = meta.eventAt.getTime() >= before.last_heartbeat.getTime()
    if (newest && p.health_status !== before.health_status) {
      const after = { ...before, health_status: p.health_status }
      await this.#queue(tx, { ...changeOf(after, 'updated'), changed_fields: ['health_status'] })
      await this.#d.outbox.append(tx, [
        events.healthChanged(p.node_id, before.namespace, before.health_status, p.health_status),
      ])
      if (channels.nodeHealthChanged.hasSubscribers)
        channels.nodeHealthChanged.publish({
          nodeId: p.node_id,
          namespace: before.namespace,
          from: before.health_status,
          to: p.health_status,
        } satisfies NodeHealthChangedObservation)
    }
    return 'alive'
  }

  /** NODE_TOMBSTONE: removes the node unless it announced itself again after the tombstone was issued. */
  async tombstone(tx: Queryable, p: Tombstone): Promise<'removed' | 'ignored'> {
    const before = await this.#d.store.lock(tx, p.node_id)
    if (!before || before.removed_at !== null) return 'ignored'
    if (!servesNamespace(this.#d.namespace, before.namespace)) return 'ignored'
    const at = new Date(p.removal_timestamp)
    if (before.last_event_at.getTime() > at.getTime()) return 'ignored'
    await this.#d.store.markRemoved(tx, p.node_id, p.removal_reason, at)
    await this.#queue(tx, removal(before, p.removal_reason))
    return 'removed'
  }

  /** POST /nodes: a registration over HTTP (403 outside the served namespace, nothing stored). */
  async register(
    p: Introspection,
    meta: EventMeta,
  ): Promise<{ outcome: RegistrationOutcome; node: Registration }> {
    const { namespace } = this.#d
    if (!servesNamespace(namespace, p.namespace))
      throw new ForbiddenError(`this registry serves namespace ${namespace} only, not ${p.namespace}`, {
        field: 'namespace',
        served_namespace: namespace,
      })
    const outcome = await this.#d.db.transaction((tx) => this.introspection(tx, p, meta))
    this.#d.outbox.notify()
    return { outcome, node: (await this.#d.store.find(p.node_id))! }
  }

  /** DELETE /nodes/{id}: manual_deregistration, with its tombstone. */
  async deregister(nodeId: string, correlationId: string | undefined): Promise<Registration> {
    const removed = await this.#d.db.transaction(async (tx) => {
      const before = await this.#d.store.lock(tx, nodeId)
      if (!before || before.removed_at !== null || !servesNamespace(this.#d.namespace, before.namespace))
        throw new NotFoundError(`no registered node ${nodeId}`, { node_id: nodeId })
      await this.#d.store.markRemoved(tx, nodeId, 'manual_deregistration', undefined)
      await this.#queue(tx, removal(before, 'manual_deregistration'))
      await this.#d.outbox.append(tx, [
        this.#d.events.tombstone(before, 'manual_deregistration', correlationId),
      ])
      return before
    })
    this.#d.outbox.notify()
    return (await this.#d.store.find(removed.node_id))!
  }

  async find(nodeId: string): Promise<Registration> {
    const node = await this.#d.store.find(nodeId)
    if (!node || !servesNamespace(this.#d.namespace, node.namespace))
      throw new NotFoundError(`no node ${nodeId}`, { node_id: nodeId })
    return node
  }

  /** Discovery, scoped to the served namespace (asking for another one is 403). */
  async list(q: NodeQuery): Promise<Registration[]> {
    const served = this.#d.namespace
    if (q.namespace !== undefined && !servesNamespace(served, q.namespace))
      throw new ForbiddenError(`this registry serves namespace ${served} only, not ${q.namespace}`, {
        field: 'namespace',
        served_namespace: served,
      })
    return this.#d.store.list({ ...q, namespace: q.namespace ?? served })
  }

  snapshot(): Promise<TopologySnapshot> {
    return this.#d.store.snapshot()
  }

  /** The diffs after `since`; GoneError (410) when some of them are no longer kept, or `since` is ahead. */
  async diffsSince(since: number, limit: number): Promise<{ latest: number; diffs: TopologyDiff[] }> {
    const { oldest, latest, diffs } = await this.#d.store.diffsSince(since, limit)
    if (since > latest)
      throw new InvalidInputError(`since ${since} is newer than the latest topology version ${latest}`, [
        { field: 'since', message: `must be at most ${latest}` },
      ])
    if (since < latest && oldest !== null && since < oldest - 1)
      throw new GoneError(
        `topology versions after ${since} are no longer kept (oldest kept: ${oldest}); resync from GET /topology`,
        { since, oldest_kept: oldest, latest },
      )
    return { latest, diffs }
  }

  /**
   * Leader: turns up to `limit` queued changes into the next topology version (one diff), fenced by the
   * leader's epoch. Undefined when nothing was queued.
   */
  async versionChanges(limit: number): Promise<TopologyDiff | undefined> {
    const { db, store, leadership, events, outbox } = this.#d
    const diff = await db.transaction(async (tx) => {
      const epoch = await leadership.fence(tx)
      const changes = await store.takeChanges(tx, limit)
      if (changes.length === 0) return undefined
      const diff = await store.writeVersion(tx, changes, epoch)
      await outbox.append(tx, [events.topologyDiff(diff)])
      await store.pruneVersions(tx, diff.topology_version, this.#d.versionsKept)
      return diff
    })
    if (diff) outbox.notify()
    return diff
  }

  /** Leader: removes nodes whose lease ran out (lease_expired), each with its tombstone. */
  async expireLeases(limit: number): Promise<number> {
    const { db, store, leadership, events, outbox } = this.#d
    const expired = await db.transaction(async (tx) => {
      await leadership.fence(tx)
      const rows = await store.expireLeases(tx, limit)
      const messages: OutgoingMessage[] = []
      for (const row of rows) {
        await this.#queue(tx, removal(row, 'lease_expired'))
        messages.push(events.tombstone(row, 'lease_expired'))
      }
      await outbox.append(tx, messages)
      return rows.length
    })
    if (expired) outbox.notify()
    return expired
  }

  /** Asks every node (of the served namespace) to introspect: how a starting registry rebuilds. */
  async requestIntrospection(reason: string): Promise<void> {
    const ns = this.#d.namespace
    await this.#d.outbox.write([
      this.#d.events.requestIntrospection({ reason, ...(ns === undefined ? {} : { namespace: ns }) }),
    ])
  }

  async #queue(tx: Queryable, change: TopologyChange): Promise<void> {
    await this.#d.store.queueChange(tx, change)
    this.#d.onChange?.()
  }
}

function changeOf(r: Registration, type: 'added' | 'updated'): TopologyChange {
  return {
    change_type: type,
    node_id: r.node_id,
    node_type: r.node_type,
    endpoints: r.endpoints,
    capabilities: r.capabilities,
    node: topologyNode(r),
  }
}

function removal(r: Registration, reason: Tombstone['removal_reason']): TopologyChange {
  return { change_type: 'removed', node_id: r.node_id, node_type: r.node_type, removal_reason: reason }
}

function changedFields(before: Registration, after: Registration): string[] {
  return watchedFields.filter((f) => JSON.stringify(before[f]) !== JSON.stringify(after[f]))
}
