import { channels, type NodeHealthChangedObservation } from '../../core/diagnostics.ts'
import { ForbiddenError, GoneError, InvalidInputError, NotFoundError } from '../../core/errors.ts'
import {
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
import { type BatchPlan, type EventMeta, planBatch, type RegistryInput } from './apply.ts'
import type { RegistryEvents } from './events.ts'
import type { Leadership } from './leadership.ts'
import type { NodeQuery, Registration, RegistryStore } from './store.ts'

export type { EventMeta } from './apply.ts'

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

  /**
   * Node events (a delivery of NODE_INTROSPECTION, NODE_HEARTBEAT and NODE_TOMBSTONE, in order),
   * applied in ONE transaction of a few set-based statements whatever their number: the nodes' rows
   * locked at once, the batch folded in memory (planBatch: the rules of one event at a time, the net
   * effect per node), the rows written by one upsert and one update, the topology changes queued and
   * the answers (rejections, requests to introspect, health changes) appended by one statement each.
   * Idempotent: a duplicate or an older event changes nothing, so a redelivered batch is harmless.
   */
  async apply(inputs: readonly RegistryInput[]): Promise<BatchPlan> {
    const plan = await this.#d.db.transaction((tx) => this.#apply(tx, inputs))
    this.#applied(plan)
    return plan
  }

  async #apply(tx: Queryable, inputs: readonly RegistryInput[]): Promise<BatchPlan> {
    const { store, events, namespace, outbox } = this.#d
    const served = inputs.filter(
      (i) => i.kind !== 'introspection' || servesNamespace(namespace, i.payload.namespace),
    )
    const before = await store.lockMany(
      tx,
      served.map((i) => i.payload.node_id),
    )
    const plan = planBatch(before, inputs, namespace)
    await store.upsertMany(tx, plan.upserts)
    await store.updateMany(tx, plan.updates)
    await store.queueChanges(tx, plan.changes)
    const cause = (meta: EventMeta) => ({ correlationId: meta.correlationId, causationId: meta.eventId })
    const messages: OutgoingMessage[] = [
      ...plan.rejected.map((r) => events.rejected(r.payload, namespace!, cause(r.meta))),
      ...plan.unknown.map((u) =>
        events.requestIntrospection(
          { reason: 'heartbeat_from_unregistered_node', node_ids: [u.nodeId] },
          cause(u.meta),
        ),
      ),
      ...plan.healthChanges.map((h) => events.healthChanged(h.nodeId, h.namespace, h.from, h.to)),
    ]
    await outbox.append(tx, messages)
    return plan
  }

  /** After the commit: the relay and the leader are woken, health changes observed. */
  #applied(plan: BatchPlan): void {
    if (plan.rejected.length + plan.unknown.length + plan.healthChanges.length > 0) this.#d.outbox.notify()
    if (plan.changes.length > 0) this.#d.onChange?.()
    if (channels.nodeHealthChanged.hasSubscribers)
      for (const h of plan.healthChanges)
        channels.nodeHealthChanged.publish({
          nodeId: h.nodeId,
          namespace: h.namespace,
          from: h.from,
          to: h.to,
        } satisfies NodeHealthChangedObservation)
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
    const plan = await this.apply([{ kind: 'introspection', payload: p, meta }])
    const change = plan.changes[0]?.change_type
    const outcome: RegistrationOutcome =
      plan.outcomes[0] === 'stale'
        ? 'stale'
        : change === 'added' || change === 'updated'
          ? change
          : 'unchanged'
    return { outcome, node: (await this.#d.store.find(p.node_id))! }
  }

  /** DELETE /nodes/{id}: manual_deregistration, with its tombstone. */
  async deregister(nodeId: string, correlationId: string | undefined): Promise<Registration> {
    const removed = await this.#d.db.transaction(async (tx) => {
      const before = await this.#d.store.lock(tx, nodeId)
      if (!before || before.removed_at !== null || !servesNamespace(this.#d.namespace, before.namespace))
        throw new NotFoundError(`no registered node ${nodeId}`, { node_id: nodeId })
      await this.#d.store.markRemoved(tx, nodeId, 'manual_deregistration', undefined)
      await this.#d.store.queueChanges(tx, [removal(before, 'manual_deregistration')])
      await this.#d.outbox.append(tx, [
        this.#d.events.tombstone(before, 'manual_deregistration', correlationId),
      ])
      return before
    })
    this.#d.outbox.notify()
    this.#d.onChange?.()
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
      await store.queueChanges(
        tx,
        rows.map((row) => removal(row, 'lease_expired')),
      )
      await outbox.append(
        tx,
        rows.map((row) => events.tombstone(row, 'lease_expired')),
      )
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
}

function removal(r: Registration, reason: Tombstone['removal_reason']): TopologyChange {
  return { change_type: 'removed', node_id: r.node_id, node_type: r.node_type, removal_reason: reason }
}
