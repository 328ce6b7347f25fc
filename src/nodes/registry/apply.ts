import {
  type HealthStatus,
  type Heartbeat,
  type Introspection,
  servesNamespace,
  type Tombstone,
  type TopologyChange,
} from '../../core/registry/payloads.ts'
import { type NodeState, type RegistrationWrite, topologyNode } from './store.ts'

/** Where an event came from: its id, its time, its correlation (for answers and rejections). */
export interface EventMeta {
  eventId: string
  eventAt: Date
  correlationId?: string | undefined
}

/** A node event to apply, parsed. */
export type RegistryInput =
  | { kind: 'introspection'; payload: Introspection; meta: EventMeta }
  | { kind: 'heartbeat'; payload: Heartbeat; meta: EventMeta }
  | { kind: 'tombstone'; payload: Tombstone; meta: EventMeta }

/** What became of one event: applied, or why not. */
export type InputOutcome = 'applied' | 'stale' | 'rejected' | 'unknown' | 'ignored'

/** Everything a batch of node events changes, for the store to write in a few statements. */
export interface BatchPlan {
  outcomes: InputOutcome[]
  /** Rows an introspection was applied to (upserted whole). */
  upserts: RegistrationWrite[]
  /** Rows only heartbeats or a tombstone changed. */
  updates: RegistrationWrite[]
  /** Topology changes to queue, at most one per node: the batch's net effect. */
  changes: TopologyChange[]
  rejected: Array<{ payload: Introspection; meta: EventMeta }>
  /** Heartbeats of nodes not (or no longer) registered: each node is asked to introspect, once. */
  unknown: Array<{ nodeId: string; meta: EventMeta }>
  healthChanges: Array<{ nodeId: string; namespace: string; from: HealthStatus; to: HealthStatus }>
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

interface Working {
  before: NodeState | undefined
  row: NodeState | undefined
  announced: RegistrationWrite['announced']
  introspected: boolean
  extendLease: boolean
  removed: boolean
}

/**
 * Applies a batch of node events to the registrations they name (`before`: the rows as stored, locked
 * by the caller), in order, with the rules one event at a time would follow:
 * - introspection: refused outside the served namespace (a rejection, nothing stored); ignored when
 *   older than the newest introspection or tombstone applied to the node (reordered or duplicate);
 *   else the node is registered (again), alive;
 * - heartbeat: of an unknown or removed node, a request to introspect; else the lease runs again and
 *   the health is taken when the heartbeat is the newest;
 * - tombstone: removes a live node of the served namespace unless it announced itself again after the
 *   tombstone was issued.
 * The result is each node's final row and ONE topology change per node: its net effect over the batch
 * (added, removed, or updated naming the fields that differ), none when nothing watched changed; so a
 * heartbeat that changes no health, or a duplicate, queues nothing. Pure: no I/O.
 */
export function planBatch(
  before: ReadonlyMap<string, NodeState>,
  inputs: readonly RegistryInput[],
  namespace: string | undefined,
): BatchPlan {
  const nodes = new Map<string, Working>()
  const working = (nodeId: string): Working => {
    let w = nodes.get(nodeId)
    if (!w) {
      const stored = before.get(nodeId)
      w = {
        before: stored,
        row: stored && { ...stored },
        announced: undefined,
        introspected: false,
        extendLease: false,
        removed: false,
      }
      nodes.set(nodeId, w)
    }
    return w
  }
  const plan: BatchPlan = {
    outcomes: [],
    upserts: [],
    updates: [],
    changes: [],
    rejected: [],
    unknown: [],
    healthChanges: [],
  }
  const unknown = new Set<string>()
  for (const input of inputs) {
    let outcome: InputOutcome
    if (input.kind === 'introspection') {
      const { payload: p, meta } = input
      if (!servesNamespace(namespace, p.namespace)) {
        plan.rejected.push({ payload: p, meta })
        outcome = 'rejected'
      } else outcome = introspect(working(p.node_id), p, meta.eventAt)
    } else if (input.kind === 'heartbeat') {
      const { payload: p, meta } = input
      if (p.namespace !== undefined && !servesNamespace(namespace, p.namespace)) outcome = 'ignored'
      else {
        outcome = beat(working(p.node_id), p, meta.eventAt)
        if (outcome === 'unknown' && !unknown.has(p.node_id)) {
          unknown.add(p.node_id)
          plan.unknown.push({ nodeId: p.node_id, meta })
        }
      }
    } else outcome = bury(working(input.payload.node_id), input.payload, namespace)
    plan.outcomes.push(outcome)
  }
  for (const w of nodes.values()) {
    const { before: b, row } = w
    if (!row || !(w.introspected || w.extendLease || w.removed)) continue
    ;(w.introspected ? plan.upserts : plan.updates).push({
      row,
      announced: w.announced,
      introspected: w.introspected,
      extendLease: w.extendLease,
      removed: w.removed,
    })
    const wasAlive = b !== undefined && b.removed_at === null
    const isAlive = row.removed_at === null
    if (!wasAlive && isAlive) plan.changes.push(changeOf(row, 'added'))
    else if (wasAlive && !isAlive)
      plan.changes.push({
        change_type: 'removed',
        node_id: row.node_id,
        node_type: row.node_type,
        removal_reason: row.removal_reason!,
      })
    else if (wasAlive && isAlive) {
      const changed = watchedFields.filter((f) => !sameJson(b[f], row[f]))
      if (changed.length > 0) plan.changes.push({ ...changeOf(row, 'updated'), changed_fields: changed })
      if (b.health_status !== row.health_status)
        plan.healthChanges.push({
          nodeId: row.node_id,
          namespace: row.namespace,
          from: b.health_status,
          to: row.health_status,
        })
    }
  }
  return plan
}

function introspect(w: Working, p: Introspection, at: Date): InputOutcome {
  const row = w.row
  if (row && row.last_event_at.getTime() > at.getTime()) return 'stale'
  const alive = row !== undefined && row.removed_at === null
  w.row = {
    node_id: p.node_id,
    namespace: p.namespace,
    node_type: p.node_type,
    node_role: p.node_role ?? null,
    node_version: p.node_version,
    capabilities: p.capabilities,
    endpoints: p.endpoints,
    // back from the dead (or new): a node starts healthy
    health_status: alive ? row.health_status : 'healthy',
    last_heartbeat: row && row.last_heartbeat.getTime() > at.getTime() ? row.last_heartbeat : at,
    last_event_at: at,
    removed_at: null,
    removal_reason: null,
  }
  w.announced = { metadata: p.metadata, lease_ttl_seconds: p.lease_ttl_seconds, epoch: p.epoch ?? null }
  w.introspected = true
  w.removed = false
  return 'applied'
}

function beat(w: Working, p: Heartbeat, at: Date): InputOutcome {
  const row = w.row
  if (!row || row.removed_at !== null) return 'unknown'
  if (at.getTime() >= row.last_heartbeat.getTime()) {
    row.health_status = p.health_status
    row.last_heartbeat = at
  }
  w.extendLease = true
  return 'applied'
}

function bury(w: Working, p: Tombstone, namespace: string | undefined): InputOutcome {
  const row = w.row
  if (!row || row.removed_at !== null) return 'ignored'
  if (!servesNamespace(namespace, row.namespace)) return 'ignored'
  const at = new Date(p.removal_timestamp)
  if (row.last_event_at.getTime() > at.getTime()) return 'ignored'
  row.removed_at = at
  row.removal_reason = p.removal_reason
  row.last_event_at = at
  w.removed = true
  return 'applied'
}

export function changeOf(r: NodeState, type: 'added' | 'updated'): TopologyChange {
  return {
    change_type: type,
    node_id: r.node_id,
    node_type: r.node_type,
    endpoints: r.endpoints,
    capabilities: r.capabilities,
    node: topologyNode(r),
  }
}

/** Equal as jsonb values are: objects whatever their key order. */
export function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return true
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false
  if (Array.isArray(a) !== Array.isArray(b)) return false
  if (Array.isArray(a)) {
    const other = b as unknown[]
    return a.length === other.length && a.every((v, i) => sameJson(v, other[i]))
  }
  const x = a as Record<string, unknown>
  const y = b as Record<string, unknown>
  const keys = Object.keys(x).filter((k) => x[k] !== undefined)
  if (keys.length !== Object.keys(y).filter((k) => y[k] !== undefined).length) return false
  return keys.every((k) => Object.hasOwn(y, k) && sameJson(x[k], y[k]))
}
