import type {
  HealthStatus,
  NodeType,
  RemovalReason,
  TopologyChange,
  TopologyDiff,
  TopologyNode,
  TopologySnapshot,
} from '../../core/registry/payloads.ts'
import type { Database, Queryable } from '../../ports/database.ts'

/** A row of node_registrations as the registry's API shows it. */
export type Registration = {
  node_id: string
  namespace: string
  node_type: NodeType
  node_role: string | null
  node_version: string
  capabilities: Record<string, unknown>
  endpoints: { health?: string; api?: string; metrics?: string }
  metadata: Record<string, unknown>
  health_status: HealthStatus
  lease_ttl_seconds: number
  lease_expires_at: Date
  epoch: number | null
  last_heartbeat: Date
  last_event_at: Date
  registered_at: Date
  updated_at: Date
  removed_at: Date | null
  removal_reason: RemovalReason | null
}

/**
 * A registration as a batch leaves it, and what its write must take from the database's clock:
 * `introspected` (the whole row is written, its lease runs from now), `extendLease` (a heartbeat: the
 * lease runs again from now), `removed` (removed in this batch: removed_at is now).
 */
export interface RegistrationWrite {
  row: NodeState
  /** What an introspection sets besides (when `introspected`). */
  announced?: Pick<Registration, 'metadata' | 'lease_ttl_seconds' | 'epoch'> | undefined
  introspected: boolean
  extendLease: boolean
  removed: boolean
}

/** What applying node events needs of a registration (RegistryStore.lockMany reads no more). */
export type NodeState = Pick<
  Registration,
  | 'node_id'
  | 'namespace'
  | 'node_type'
  | 'node_role'
  | 'node_version'
  | 'capabilities'
  | 'endpoints'
  | 'health_status'
  | 'last_heartbeat'
  | 'last_event_at'
  | 'removed_at'
  | 'removal_reason'
>

export interface NodeQuery {
  namespace?: string | undefined
  type?: NodeType | undefined
  role?: string | undefined
  health?: HealthStatus | undefined
  /** A key of `capabilities` the node must have. */
  capability?: string | undefined
  limit: number
}

type LockedRow = Omit<NodeState, 'last_heartbeat' | 'last_event_at' | 'removed_at'> & {
  last_heartbeat_ms: number
  last_event_at_ms: number
  removed_at_ms: number | null
}

const columns = `node_id, namespace, node_type, node_role, node_version, capabilities, endpoints, metadata,
  health_status, lease_ttl_seconds, lease_expires_at, epoch, last_heartbeat, last_event_at, registered_at,
  updated_at, removed_at, removal_reason`

/** The topology's view of a registration. */
export function topologyNode(r: Omit<NodeState, 'last_heartbeat' | 'last_event_at'>): TopologyNode {
  return {
    node_id: r.node_id,
    node_type: r.node_type,
    node_role: r.node_role,
    node_version: r.node_version,
    namespace: r.namespace,
    health_status: r.health_status,
    endpoints: r.endpoints,
    capabilities: r.capabilities,
  }
}

/**
 * The registry's SQL (tables of migrations/005.do.registry.sql). Methods that take `tx` run inside the
 * caller's transaction: a consumer's, or the leader's fenced one.
 */
export class RegistryStore {
  #db: Database

  constructor(db: Database) {
    this.#db = db
  }

  /** The registration, locked for the rest of `tx` (events about one node apply one at a time). */
  async lock(tx: Queryable, nodeId: string): Promise<Registration | undefined> {
    const { rows } = await tx.query<Registration>(
      `SELECT ${columns} FROM node_registrations WHERE node_id = $1 FOR UPDATE`,
      [nodeId],
    )
    return rows[0]
  }

  /**
   * The registrations of `nodeIds` that exist, locked for the rest of `tx`, taken in node_id order so
   * that two batches locking overlapping nodes wait for each other instead of deadlocking.
   */
  async lockMany(tx: Queryable, nodeIds: readonly string[]): Promise<Map<string, NodeState>> {
    if (nodeIds.length === 0) return new Map()
    // times as epoch milliseconds: a number is cheaper to read than a timestamp's text
    const { rows } = await tx.query<LockedRow>(
      `SELECT node_id, namespace, node_type, node_role, node_version, capabilities, endpoints,
         health_status, removal_reason,
         (extract(epoch FROM last_heartbeat) * 1000)::float8 AS last_heartbeat_ms,
         (extract(epoch FROM last_event_at) * 1000)::float8 AS last_event_at_ms,
         (extract(epoch FROM removed_at) * 1000)::float8 AS removed_at_ms
       FROM node_registrations WHERE node_id = ANY($1::text[]) ORDER BY node_id FOR UPDATE`,
      [[...new Set(nodeIds)]],
    )
    return new Map(
      rows.map(({ last_heartbeat_ms, last_event_at_ms, removed_at_ms, ...r }) => [
        r.node_id,
        {
          ...r,
          last_heartbeat: new Date(last_heartbeat_ms),
          last_event_at: new Date(last_event_at_ms),
          removed_at: removed_at_ms === null ? null : new Date(removed_at_ms),
        },
      ]),
    )
  }

  /**
   * Writes whole registrations an introspection was applied to, in one statement (node_id order):
   * alive again unless removed since, with a fresh lease from the database's now. last_heartbeat and
   * last_event_at are the node's own times (event_timestamp); registered_at is now for a new node or
   * one back from the dead.
   */
  async upsertMany(tx: Queryable, writes: readonly RegistrationWrite[]): Promise<void> {
    if (writes.length === 0) return
    await tx.query(
      `INSERT INTO node_registrations (node_id, namespace, node_type, node_role, node_version, capabilities,
         endpoints, metadata, health_status, lease_ttl_seconds, lease_expires_at, epoch, last_heartbeat,
         last_event_at, removed_at, removal_reason)
       SELECT v.node_id, v.namespace, v.node_type, v.node_role, v.node_version, v.capabilities,
         v.endpoints, v.metadata, v.health_status, v.lease_ttl_seconds,
         now() + make_interval(secs => v.lease_ttl_seconds), v.epoch, v.last_heartbeat, v.last_event_at,
         CASE WHEN v.removal_reason IS NULL THEN NULL ELSE now() END, v.removal_reason
       FROM jsonb_to_recordset($1::jsonb) AS v(node_id text, namespace text, node_type text,
         node_role text, node_version text, capabilities jsonb, endpoints jsonb, metadata jsonb,
         health_status text, lease_ttl_seconds double precision, epoch bigint,
         last_heartbeat timestamptz, last_event_at timestamptz, removal_reason text)
       ORDER BY v.node_id
       ON CONFLICT (node_id) DO UPDATE SET
         namespace = EXCLUDED.namespace, node_type = EXCLUDED.node_type, node_role = EXCLUDED.node_role,
         node_version = EXCLUDED.node_version, capabilities = EXCLUDED.capabilities,
         endpoints = EXCLUDED.endpoints, metadata = EXCLUDED.metadata,
         health_status = EXCLUDED.health_status, lease_ttl_seconds = EXCLUDED.lease_ttl_seconds,
         lease_expires_at = EXCLUDED.lease_expires_at, epoch = EXCLUDED.epoch,
         last_heartbeat = GREATEST(node_registrations.last_heartbeat, EXCLUDED.last_heartbeat),
         last_event_at = EXCLUDED.last_event_at, updated_at = now(),
         registered_at = CASE WHEN node_registrations.removed_at IS NULL
           THEN node_registrations.registered_at ELSE now() END,
         removed_at = EXCLUDED.removed_at, removal_reason = EXCLUDED.removal_reason`,
      [
        JSON.stringify(
          writes.map(({ row: r, announced: a }) => ({
            node_id: r.node_id,
            namespace: r.namespace,
            node_type: r.node_type,
            node_role: r.node_role,
            node_version: r.node_version,
            capabilities: r.capabilities,
            endpoints: r.endpoints,
            metadata: a?.metadata ?? {},
            health_status: r.health_status,
            lease_ttl_seconds: a?.lease_ttl_seconds,
            epoch: a?.epoch ?? null,
            last_heartbeat: r.last_heartbeat,
            last_event_at: r.last_event_at,
            removal_reason: r.removed_at === null ? null : r.removal_reason,
          })),
        ),
      ],
    )
  }

  /**
   * Writes what heartbeats and tombstones changed in registrations (locked by the caller), in one
   * statement: a heartbeat's lease runs again from now (never shorter), its health and time; a removal
   * is now, with its reason and the tombstone's time.
   */
  async updateMany(tx: Queryable, writes: readonly RegistrationWrite[]): Promise<void> {
    if (writes.length === 0) return
    await tx.query(
      `UPDATE node_registrations r SET
         lease_expires_at = CASE WHEN v.extend
           THEN GREATEST(r.lease_expires_at, now() + make_interval(secs => r.lease_ttl_seconds))
           ELSE r.lease_expires_at END,
         health_status = v.health_status,
         last_heartbeat = GREATEST(r.last_heartbeat, v.last_heartbeat),
         last_event_at = GREATEST(r.last_event_at, v.last_event_at),
         removed_at = CASE WHEN v.removed THEN now() ELSE r.removed_at END,
         removal_reason = CASE WHEN v.removed THEN v.removal_reason ELSE r.removal_reason END,
         updated_at = now()
       FROM jsonb_to_recordset($1::jsonb) AS v(node_id text, extend boolean, removed boolean,
         health_status text, last_heartbeat timestamptz, last_event_at timestamptz, removal_reason text)
       WHERE r.node_id = v.node_id`,
      [
        JSON.stringify(
          writes.map(({ row: r, extendLease, removed }) => ({
            node_id: r.node_id,
            extend: extendLease,
            removed,
            health_status: r.health_status,
            last_heartbeat: r.last_heartbeat,
            last_event_at: r.last_event_at,
            removal_reason: r.removal_reason,
          })),
        ),
      ],
    )
  }

  async markRemoved(
    tx: Queryable,
    nodeId: string,
    reason: RemovalReason,
    eventAt: Date | undefined,
  ): Promise<void> {
    await tx.query(
      `UPDATE node_registrations SET removed_at = now(), removal_reason = $2, updated_at = now(),
         last_event_at = GREATEST(last_event_at, COALESCE($3, last_event_at))
       WHERE node_id = $1`,
      [nodeId, reason, eventAt ?? null],
    )
  }

  /** Removes (lease_expired) up to `limit` registrations whose lease ran out; returns them. */
  async expireLeases(tx: Queryable, limit: number): Promise<Registration[]> {
    const { rows } = await tx.query<Registration>(
      `UPDATE node_registrations SET removed_at = now(), removal_reason = 'lease_expired', updated_at = now()
       WHERE node_id IN (
         SELECT node_id FROM node_registrations
         WHERE removed_at IS NULL AND lease_expires_at < now()
         ORDER BY lease_expires_at LIMIT $1 FOR UPDATE SKIP LOCKED)
       RETURNING ${columns}`,
      [limit],
    )
    return rows
  }

  /** Queues changes for the leader to version, in their order, in one statement. */
  async queueChanges(tx: Queryable, changes: readonly TopologyChange[]): Promise<void> {
    if (changes.length === 0) return
    if (changes.length === 1) {
      await tx.query('INSERT INTO registry_changes (change) VALUES ($1::jsonb)', [JSON.stringify(changes[0])])
      return
    }
    await tx.query(
      `INSERT INTO registry_changes (change)
       SELECT c FROM jsonb_array_elements($1::jsonb) WITH ORDINALITY AS t(c, n) ORDER BY n`,
      [JSON.stringify(changes)],
    )
  }

  /** Takes up to `limit` queued changes, oldest first (the leader, in its fenced transaction). */
  async takeChanges(tx: Queryable, limit: number): Promise<TopologyChange[]> {
    const { rows } = await tx.query<{ id: number; change: TopologyChange }>(
      `DELETE FROM registry_changes WHERE id IN (SELECT id FROM registry_changes ORDER BY id LIMIT $1)
       RETURNING id, change`,
      [limit],
    )
    return rows.sort((a, b) => a.id - b.id).map((r) => r.change)
  }

  /**
   * Applies changes to topology_nodes and records the next version; returns the diff. Runs in the
   * leader's fenced transaction: the primary key on version makes a second writer fail rather than fork.
   */
  async writeVersion(
    tx: Queryable,
    changes: readonly TopologyChange[],
    epoch: number,
  ): Promise<TopologyDiff> {
    // the last change of each node decides its row (changes apply in order)
    const last = new Map<string, TopologyChange>()
    for (const c of changes) if (c.change_type === 'removed' || c.node) last.set(c.node_id, c)
    const removed: string[] = []
    const upserted: TopologyNode[] = []
    for (const c of last.values()) {
      if (c.change_type === 'removed') removed.push(c.node_id)
      else upserted.push(c.node!)
    }
    if (removed.length > 0)
      await tx.query('DELETE FROM topology_nodes WHERE node_id = ANY($1::text[])', [removed])
    if (upserted.length > 0)
      await tx.query(
        `INSERT INTO topology_nodes (node_id, node)
         SELECT n ->> 'node_id', n FROM jsonb_array_elements($1::jsonb) AS n ORDER BY 1
         ON CONFLICT (node_id) DO UPDATE SET node = EXCLUDED.node`,
        [JSON.stringify(upserted)],
      )
    const { rows } = await tx.query<{ previous: number; total: number }>(
      `SELECT COALESCE((SELECT max(version) FROM topology_versions), 0) AS previous,
              (SELECT count(*) FROM topology_nodes)::int AS total`,
    )
    const { previous, total } = rows[0]!
    const count = (t: string) => changes.filter((c) => c.change_type === t).length
    const diff: TopologyDiff = {
      topology_version: previous + 1,
      previous_version: previous,
      changes: [...changes],
      summary: {
        total_nodes: total,
        nodes_added: count('added'),
        nodes_updated: count('updated'),
        nodes_removed: count('removed'),
      },
    }
    await tx.query(
      'INSERT INTO topology_versions (version, previous_version, epoch, diff) VALUES ($1, $2, $3, $4::jsonb)',
      [diff.topology_version, diff.previous_version, epoch, JSON.stringify(diff)],
    )
    return diff
  }

  /** Keeps the newest `keep` versions. */
  async pruneVersions(tx: Queryable, latest: number, keep: number): Promise<void> {
    await tx.query('DELETE FROM topology_versions WHERE version <= $1', [latest - keep])
  }

  /** The topology and its version, read in one statement (one snapshot of the database). */
  async snapshot(): Promise<TopologySnapshot> {
    const { rows } = await this.#db.query<{ version: number; nodes: TopologyNode[] | null }>(
      `SELECT COALESCE((SELECT max(version) FROM topology_versions), 0) AS version,
              (SELECT jsonb_agg(node ORDER BY node_id) FROM topology_nodes) AS nodes`,
    )
    return { topology_version: rows[0]!.version, nodes: rows[0]!.nodes ?? [] }
  }

  /** The diffs after `since`, with the oldest and newest versions kept (to tell a gap from nothing new). */
  async diffsSince(
    since: number,
    limit: number,
  ): Promise<{ oldest: number | null; latest: number; diffs: TopologyDiff[] }> {
    const { rows } = await this.#db.query<{ oldest: number | null; latest: number; diffs: TopologyDiff[] }>(
      `SELECT (SELECT min(version) FROM topology_versions) AS oldest,
              COALESCE((SELECT max(version) FROM topology_versions), 0) AS latest,
              COALESCE((SELECT jsonb_agg(diff ORDER BY version) FROM (
                SELECT version, diff FROM topology_versions WHERE version > $1 ORDER BY version LIMIT $2) d),
                '[]'::jsonb) AS diffs`,
      [since, limit],
    )
    return rows[0]!
  }

  async find(nodeId: string): Promise<Registration | undefined> {
    const { rows } = await this.#db.query<Registration>(
      `SELECT ${columns} FROM node_registrations WHERE node_id = $1`,
      [nodeId],
    )
    return rows[0]
  }

  /** Live registrations, healthy first, then the most recent heartbeat first. */
  async list(q: NodeQuery): Promise<Registration[]> {
    const where = ['removed_at IS NULL']
    const params: unknown[] = []
    const add = (sql: string, value: unknown) => {
      params.push(value)
      where.push(sql.replace('@', `$${params.length}`))
    }
    if (q.namespace !== undefined) add('namespace = @', q.namespace)
    if (q.type !== undefined) add('node_type = @', q.type)
    if (q.role !== undefined) add('node_role = @', q.role)
    if (q.health !== undefined) add('health_status = @', q.health)
    if (q.capability !== undefined) add('jsonb_exists(capabilities, @)', q.capability)
    params.push(q.limit)
    const { rows } = await this.#db.query<Registration>(
      `SELECT ${columns} FROM node_registrations WHERE ${where.join(' AND ')}
       ORDER BY (health_status = 'healthy') DESC, last_heartbeat DESC, node_id
       LIMIT $${params.length}`,
      params,
    )
    return rows
  }
}
