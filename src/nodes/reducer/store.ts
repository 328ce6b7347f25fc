import type { BridgeState } from '../../core/aggregation/aggregate.ts'
import { type InBatchesOptions, inBatches } from '../../core/in-batches.ts'
import type { Database, Queryable } from '../../ports/database.ts'

/** What the API shows of a bridge state: the aggregation, with times as ISO-8601 and its bookkeeping. */
export interface StoredBridgeState extends BridgeState {
  batch_count: number
  last_batch_id: string | null
  version: number
  updated_at: string
}

/** Where a partition stands: the last offset counted and how many events of it were. */
export interface Watermark {
  topic: string
  partition: number
  offset: number
  event_count: number
}

const iso = (v: unknown) => (v instanceof Date ? v : new Date(String(v)))

const columns = `namespace, item_count, stamp_count, restamp_count, total_size_bytes, file_types,
  size_buckets, custom_groups, workflows, time_windows, first_event_at, last_event_at, window_start,
  window_end, items_per_second, batch_count, last_batch_id, version, updated_at`

function toState(r: Record<string, unknown>): StoredBridgeState {
  return {
    namespace: r['namespace'] as string,
    item_count: Number(r['item_count']),
    stamp_count: Number(r['stamp_count']),
    restamp_count: Number(r['restamp_count']),
    total_size_bytes: Number(r['total_size_bytes']),
    file_types: r['file_types'] as Record<string, number>,
    size_buckets: r['size_buckets'] as Record<string, number>,
    custom: r['custom_groups'] as Record<string, number>,
    workflows: r['workflows'] as BridgeState['workflows'],
    time_windows: r['time_windows'] as Record<string, number>,
    first_at: iso(r['first_event_at']).getTime(),
    last_at: iso(r['last_event_at']).getTime(),
    window_start: iso(r['window_start']).getTime(),
    window_end: iso(r['window_end']).getTime(),
    items_per_second: Number(r['items_per_second']),
    batch_count: Number(r['batch_count']),
    last_batch_id: (r['last_batch_id'] as string | null) ?? null,
    version: Number(r['version']),
    updated_at: iso(r['updated_at']).toISOString(),
  }
}

/** The reducer's SQL; nothing else touches bridge_states, action_dedup or projection_watermarks. */
export class ReducerStore {
  #db: Database

  constructor(db: Database) {
    this.#db = db
  }

  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
    return this.#db.transaction(fn)
  }

  /**
   * Marks the events counted for `group` and returns the ids that were not yet (the ones to count).
   * Two transactions marking one id: the second waits for the first and then finds its row.
   */
  async markNew(tx: Queryable, group: string, eventIds: readonly string[]): Promise<Set<string>> {
    if (eventIds.length === 0) return new Set()
    const { rows } = await tx.query<{ event_id: string }>(
      `INSERT INTO action_dedup (consumer_group, event_id)
       SELECT $1, id FROM unnest($2::uuid[]) AS id
       ON CONFLICT DO NOTHING RETURNING event_id`,
      [group, eventIds],
    )
    return new Set(rows.map((r) => r.event_id))
  }

  /**
   * The states of `namespaces`, locked for this transaction, in one statement. A namespace without a
   * state gets an empty row first, so that there is a row to lock: two reducers counting into a new
   * namespace at once then wait for each other instead of both inserting (one count would overwrite
   * the other). Rows are taken in name order, so two transactions never wait for each other in a
   * cycle. An existing row is locked by the upsert's no-op update (namespace = itself), which returns
   * it as it is. An empty row (item_count 0) is returned as no state.
   *
   * One statement rather than an insert and then a SELECT ... FOR UPDATE: the rows stay locked until
   * the transaction ends, and every other reducer transaction touching these namespaces waits that long,
   * so each round trip from here to the commit is paid once per transaction by all of them.
   */
  async lockStates(tx: Queryable, namespaces: readonly string[]): Promise<Map<string, StoredBridgeState>> {
    if (namespaces.length === 0) return new Map()
    const sorted = [...namespaces].sort()
    const { rows } = await tx.query(
      `INSERT INTO bridge_states (namespace, item_count, stamp_count, restamp_count, total_size_bytes,
         first_event_at, last_event_at, window_start, window_end, items_per_second, version)
       SELECT ns, 0, 0, 0, 0, 'epoch', 'epoch', 'epoch', 'epoch', 0, 0
       FROM unnest($1::text[]) WITH ORDINALITY AS t(ns, i) ORDER BY i
       ON CONFLICT (namespace) DO UPDATE SET namespace = EXCLUDED.namespace
       RETURNING ${columns}`,
      [sorted],
    )
    return new Map(
      rows.filter((r) => Number(r['item_count']) > 0).map((r) => [r['namespace'] as string, toState(r)]),
    )
  }

  /** Writes the states (new or updated) in one statement. */
  async saveStates(
    tx: Queryable,
    states: readonly BridgeState[],
    batch: { id: string; count: number },
  ): Promise<void> {
    if (states.length === 0) return
    const ts = (ms: number) => new Date(ms).toISOString()
    await tx.query(
      `INSERT INTO bridge_states (namespace, item_count, stamp_count, restamp_count, total_size_bytes,
         file_types, size_buckets, custom_groups, workflows, time_windows, first_event_at, last_event_at,
         window_start, window_end, items_per_second, batch_count, last_batch_id)
       SELECT s->>'namespace', (s->>'item_count')::bigint, (s->>'stamp_count')::bigint,
         (s->>'restamp_count')::bigint, (s->>'total_size_bytes')::bigint, s->'file_types',
         s->'size_buckets', s->'custom', s->'workflows', s->'time_windows',
         (s->>'first_at')::timestamptz, (s->>'last_at')::timestamptz, (s->>'window_start')::timestamptz,
         (s->>'window_end')::timestamptz, (s->>'items_per_second')::double precision, $2, $3
       FROM jsonb_array_elements($1::jsonb) AS s
       ON CONFLICT (namespace) DO UPDATE SET
         item_count = EXCLUDED.item_count, stamp_count = EXCLUDED.stamp_count,
         restamp_count = EXCLUDED.restamp_count, total_size_bytes = EXCLUDED.total_size_bytes,
         file_types = EXCLUDED.file_types, size_buckets = EXCLUDED.size_buckets,
         custom_groups = EXCLUDED.custom_groups, workflows = EXCLUDED.workflows,
         time_windows = EXCLUDED.time_windows, first_event_at = EXCLUDED.first_event_at,
         last_event_at = EXCLUDED.last_event_at, window_start = EXCLUDED.window_start,
         window_end = EXCLUDED.window_end, items_per_second = EXCLUDED.items_per_second,
         batch_count = bridge_states.batch_count + $2, last_batch_id = EXCLUDED.last_batch_id,
         version = bridge_states.version + 1, updated_at = now()`,
      [
        JSON.stringify(
          states.map((s) => ({
            ...s,
            first_at: ts(s.first_at),
            last_at: ts(s.last_at),
            window_start: ts(s.window_start),
            window_end: ts(s.window_end),
          })),
        ),
        batch.count,
        batch.id,
      ],
    )
  }

  /**
   * Records, for each partition, the last offset counted in this transaction and how many events
   * were, in one statement. Two entries of one partition merge (the later offset, both counts); rows
   * are taken in (topic, partition) order, so two transactions never wait for each other in a cycle.
   */
  async advanceWatermarks(
    tx: Queryable,
    group: string,
    entries: ReadonlyArray<{ at: { topic: string; partition: number; offset: bigint }; counted: number }>,
  ): Promise<void> {
    const merged = new Map<string, { topic: string; partition: number; offset: bigint; counted: number }>()
    for (const { at, counted } of entries) {
      const key = `${at.partition} ${at.topic}`
      const seen = merged.get(key)
      merged.set(key, {
        topic: at.topic,
        partition: at.partition,
        offset: seen && seen.offset > at.offset ? seen.offset : at.offset,
        counted: counted + (seen?.counted ?? 0),
      })
    }
    if (merged.size === 0) return
    const rows = [...merged.values()].sort((a, b) =>
      a.topic === b.topic ? a.partition - b.partition : a.topic < b.topic ? -1 : 1,
    )
    await tx.query(
      `INSERT INTO projection_watermarks (consumer_group, topic, partition, "offset", event_count)
       SELECT $1, w.topic, w.partition, w.last_offset, w.counted
       FROM unnest($2::text[], $3::integer[], $4::bigint[], $5::bigint[]) WITH ORDINALITY
         AS w(topic, partition, last_offset, counted, i)
       ORDER BY w.i
       ON CONFLICT (consumer_group, topic, partition) DO UPDATE SET
         "offset" = EXCLUDED."offset",
         event_count = projection_watermarks.event_count + EXCLUDED.event_count,
         updated_at = now()`,
      [
        group,
        rows.map((r) => r.topic),
        rows.map((r) => r.partition),
        rows.map((r) => r.offset.toString()),
        rows.map((r) => r.counted),
      ],
    )
  }

  async list(): Promise<StoredBridgeState[]> {
    const { rows } = await this.#db.query(
      `SELECT ${columns} FROM bridge_states WHERE item_count > 0 ORDER BY namespace`,
    )
    return rows.map(toState)
  }

  async get(namespace: string): Promise<StoredBridgeState | undefined> {
    const { rows } = await this.#db.query(
      `SELECT ${columns} FROM bridge_states WHERE namespace = $1 AND item_count > 0`,
      [namespace],
    )
    return rows[0] === undefined ? undefined : toState(rows[0])
  }

  async watermarks(group: string): Promise<Watermark[]> {
    const { rows } = await this.#db.query(
      `SELECT topic, partition, "offset", event_count FROM projection_watermarks
       WHERE consumer_group = $1 ORDER BY topic, partition`,
      [group],
    )
    return rows.map((r) => ({
      topic: r['topic'] as string,
      partition: Number(r['partition']),
      offset: Number(r['offset']),
      event_count: Number(r['event_count']),
    }))
  }

  /**
   * Deletes dedup marks older than `olderThanMs` (events that old are no longer redelivered), the
   * oldest first, in batches (inBatches: PGlite would stop for all of them at once); returns how many.
   */
  async pruneDedup(olderThanMs: number, options: InBatchesOptions = {}): Promise<number> {
    return inBatches(async (limit) => {
      const { rowCount } = await this.#db.query(
        `DELETE FROM action_dedup WHERE (consumer_group, event_id) IN (
           SELECT consumer_group, event_id FROM action_dedup
           WHERE processed_at < now() - ($1::double precision * interval '1 millisecond')
           ORDER BY processed_at LIMIT $2)`,
        [olderThanMs, limit],
      )
      return rowCount
    }, options)
  }
}
