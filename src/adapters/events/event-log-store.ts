import type { EventDirection, TraceEntry } from '../../core/events/trace.ts'
import { type InBatchesOptions, inBatches } from '../../core/in-batches.ts'
import type { Database, Queryable } from '../../ports/database.ts'

/** A row of event_logs to write. */
export interface NewEventLogEntry {
  event_id: string
  event_type: string
  topic: string
  partition?: number | null
  /** A bigint, or its decimal text. */
  offset?: bigint | number | string | null
  direction: EventDirection
  consumer_group?: string | null
  correlation_id?: string | null
  causation_id?: string | null
  session_id?: string | null
  source_node_id?: string | null
  status: 'ok' | 'failed'
  error?: string | null
  attempt?: number | null
  duration_ms?: number | null
  /** ISO-8601 */
  event_timestamp?: string | null
  payload?: Record<string, unknown>
  /** ISO-8601; default: when the row is written. */
  recorded_at?: string
}

/** A row of event_logs as the API shows it. */
export interface EventLogEntry extends TraceEntry {
  partition: number | null
  offset: number | null
  causation_id: string | null
  session_id: string | null
  source_node_id: string | null
  attempt: number | null
  event_timestamp: string | null
  payload: Record<string, unknown>
  replayed_at: string | null
}

export interface EventLogFilter {
  correlation_id?: string | undefined
  session_id?: string | undefined
  topic?: string | undefined
  direction?: EventDirection | undefined
  /** Entries recorded at or after this time (ISO-8601), oldest first; without it, the latest `limit`. */
  since?: string | undefined
  /** Dead letters only: leave out those replayed already. */
  unreplayed?: boolean | undefined
  limit: number
}

export interface EventLogRetention {
  /** Published and consumed entries. */
  logMs: number
  /** Dead letters (the source of replays): as long as the dead-letter topics keep them. */
  deadLetterMs: number
  /** Consumer deduplication marks: longer than a replayed event can come back. */
  processedMs: number
}

/** recorded_at as text with its microseconds (a JS Date keeps milliseconds; steps are often closer). */
const columns = `id, event_id, event_type, topic, partition, "offset", direction, consumer_group, correlation_id,
  causation_id, session_id, source_node_id, status, error, attempt, duration_ms, event_timestamp, payload,
  replayed_at, to_char(recorded_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS recorded_at`

/**
 * Many rows in one statement: one typed array per column, and the payloads as one JSON array, zipped
 * in their order. Measured against one jsonb array of row objects (jsonb_populate_record per row):
 * PostgreSQL parsed the whole document into jsonb and took each row apart again, about twice the
 * server CPU per row. The payloads travel as JSON text rather than a jsonb[] because the driver
 * escapes every element of an array literal, which cost the client more than the rest of the insert.
 */
const insertMany = `INSERT INTO event_logs (event_id, event_type, topic, partition, "offset", direction,
    consumer_group, correlation_id, causation_id, session_id, source_node_id, status, error, attempt,
    duration_ms, event_timestamp, payload, recorded_at)
  SELECT r.event_id, r.event_type, r.topic, r.partition, r."offset", r.direction, r.consumer_group,
    r.correlation_id, r.causation_id, r.session_id, r.source_node_id, r.status, r.error, r.attempt,
    r.duration_ms, r.event_timestamp, r.payload::jsonb, COALESCE(r.recorded_at, now())
  FROM ROWS FROM (unnest($1::uuid[]), unnest($2::text[]), unnest($3::text[]), unnest($4::integer[]),
    unnest($5::bigint[]), unnest($6::text[]), unnest($7::text[]), unnest($8::uuid[]), unnest($9::uuid[]),
    unnest($10::text[]), unnest($11::text[]), unnest($12::text[]), unnest($13::text[]),
    unnest($14::integer[]), unnest($15::double precision[]), unnest($16::timestamptz[]),
    json_array_elements($17::json), unnest($18::timestamptz[]))
    WITH ORDINALITY AS r(event_id, event_type, topic, partition, "offset", direction, consumer_group,
      correlation_id, causation_id, session_id, source_node_id, status, error, attempt, duration_ms,
      event_timestamp, payload, recorded_at, n)
  ORDER BY r.n`

/** The parameters of insertMany for `entries`. */
function insertParams(entries: readonly NewEventLogEntry[]): unknown[] {
  const n = entries.length
  const columns = Array.from({ length: 18 }, () => new Array<unknown>(n))
  for (let i = 0; i < n; i++) {
    const e = entries[i]!
    columns[0]![i] = e.event_id
    columns[1]![i] = e.event_type
    columns[2]![i] = e.topic
    columns[3]![i] = e.partition ?? null
    columns[4]![i] = e.offset === undefined || e.offset === null ? null : e.offset.toString()
    columns[5]![i] = e.direction
    columns[6]![i] = e.consumer_group ?? null
    columns[7]![i] = e.correlation_id ?? null
    columns[8]![i] = e.causation_id ?? null
    columns[9]![i] = e.session_id ?? null
    columns[10]![i] = e.source_node_id ?? null
    columns[11]![i] = e.status
    columns[12]![i] = e.error ?? null
    columns[13]![i] = e.attempt ?? null
    columns[14]![i] = e.duration_ms ?? null
    columns[15]![i] = e.event_timestamp ?? null
    columns[16]![i] = e.payload ?? {}
    columns[17]![i] = e.recorded_at ?? null
  }
  return [...columns.slice(0, 16), JSON.stringify(columns[16]), columns[17]]
}

/** The SQL of event_logs (the event tracer's source) and of the event tables' retention. */
export class EventLogStore {
  #db: Database

  constructor(db: Database) {
    this.#db = db
  }

  /** Writes the entries in one statement, in their order. */
  async insert(entries: readonly NewEventLogEntry[], db: Queryable = this.#db): Promise<void> {
    if (entries.length === 0) return
    await db.query(insertMany, insertParams(entries))
  }

  /** Entries matching every given filter, oldest first. */
  async list(filter: EventLogFilter): Promise<EventLogEntry[]> {
    const where: string[] = []
    const params: unknown[] = []
    const add = (sql: string, value: unknown) => {
      params.push(value)
      where.push(sql.replace('?', `$${params.length}`))
    }
    if (filter.correlation_id !== undefined) add('correlation_id = ?', filter.correlation_id)
    if (filter.session_id !== undefined) add('session_id = ?', filter.session_id)
    if (filter.topic !== undefined) add('topic = ?', filter.topic)
    if (filter.direction !== undefined) add('direction = ?', filter.direction)
    if (filter.since !== undefined) add('recorded_at >= ?::timestamptz', filter.since)
    if (filter.unreplayed) where.push('replayed_at IS NULL')
    params.push(filter.limit)
    const whereSql = where.length ? `WHERE ${where.join(' AND ')}` : ''
    const limit = `$${params.length}`
    const sql =
      filter.since !== undefined
        ? `SELECT ${columns} FROM event_logs ${whereSql} ORDER BY recorded_at, id LIMIT ${limit}`
        : `SELECT * FROM (SELECT ${columns} FROM event_logs ${whereSql}
             ORDER BY recorded_at DESC, id DESC LIMIT ${limit}) latest ORDER BY recorded_at, id`
    const { rows } = await this.#db.query<RawEntry>(sql, params)
    return rows.map(toEntry)
  }

  /** A session's entries, oldest first; at most `limit`. */
  async session(sessionId: string, limit: number): Promise<EventLogEntry[]> {
    const { rows } = await this.#db.query<RawEntry>(
      `SELECT ${columns} FROM event_logs WHERE session_id = $1 ORDER BY recorded_at, id LIMIT $2`,
      [sessionId, limit],
    )
    return rows.map(toEntry)
  }

  /**
   * Dead letters to replay, one per event (an event dead-lettered by two consumer groups is replayed
   * once), locked until `tx` ends so that two replays at once cannot both take them.
   */
  async takeDeadLetters(
    tx: Queryable,
    select: { ids?: readonly number[] | undefined; topic?: string | undefined; limit: number },
  ): Promise<EventLogEntry[]> {
    const params: unknown[] = [select.limit]
    let where = "direction = 'dead_lettered' AND replayed_at IS NULL"
    if (select.ids) {
      params.push(select.ids)
      where += ` AND id = ANY($${params.length}::bigint[])`
    }
    if (select.topic !== undefined) {
      params.push(select.topic)
      where += ` AND topic = $${params.length}`
    }
    const { rows } = await tx.query<RawEntry>(
      `SELECT ${columns} FROM event_logs WHERE ${where} ORDER BY recorded_at, id LIMIT $1 FOR UPDATE`,
      params,
    )
    const seen = new Set<string>()
    return rows.map(toEntry).filter((e) => !seen.has(e.event_id) && seen.add(e.event_id))
  }

  /** Marks every dead letter of these events replayed. */
  async markReplayed(tx: Queryable, eventIds: readonly string[]): Promise<void> {
    if (eventIds.length === 0) return
    await tx.query(
      `UPDATE event_logs SET replayed_at = now()
       WHERE direction = 'dead_lettered' AND replayed_at IS NULL AND event_id = ANY($1::uuid[])`,
      [eventIds],
    )
  }

  /**
   * Deletes what has outlived its retention, in batches (inBatches: one DELETE of all that is due
   * would stop PGlite's thread for as long as it runs); returns the rows deleted per table. The
   * outbox holds only unsent events and is never pruned. Each batch takes the oldest rows through
   * the index on the time, so a stopped prune leaves no gap: the next one goes on from there.
   */
  async prune(
    retention: EventLogRetention,
    now = new Date(),
    options: InBatchesOptions = {},
  ): Promise<Record<string, number>> {
    const before = (ms: number) => new Date(now.getTime() - ms).toISOString()
    const deleting = (sql: string, cutoff: string) =>
      inBatches(async (limit) => (await this.#db.query(sql, [cutoff, limit])).rowCount, options)
    const logs = await deleting(pruneLogsSql, before(retention.logMs))
    const deadLetters = await deleting(pruneDeadLettersSql, before(retention.deadLetterMs))
    const processed = await deleting(pruneProcessedSql, before(retention.processedMs))
    return { event_logs: logs + deadLetters, processed_events: processed }
  }
}

// The retention's batches: the oldest rows first, found through the index on their time.
const pruneLogsSql = `DELETE FROM event_logs WHERE id IN (
    SELECT id FROM event_logs WHERE recorded_at < $1 AND direction <> 'dead_lettered'
    ORDER BY recorded_at LIMIT $2)`
const pruneDeadLettersSql = `DELETE FROM event_logs WHERE id IN (
    SELECT id FROM event_logs WHERE recorded_at < $1 AND direction = 'dead_lettered'
    ORDER BY recorded_at LIMIT $2)`
const pruneProcessedSql = `DELETE FROM processed_events WHERE (consumer_group, event_id) IN (
    SELECT consumer_group, event_id FROM processed_events WHERE processed_at < $1
    ORDER BY processed_at LIMIT $2)`

interface RawEntry {
  id: number
  event_id: string
  event_type: string
  topic: string
  partition: number | null
  offset: number | bigint | null
  direction: EventDirection
  consumer_group: string | null
  correlation_id: string | null
  causation_id: string | null
  session_id: string | null
  source_node_id: string | null
  status: 'ok' | 'failed'
  error: string | null
  attempt: number | null
  duration_ms: number | null
  event_timestamp: Date | string | null
  payload: Record<string, unknown>
  replayed_at: Date | string | null
  recorded_at: string
  [key: string]: unknown
}

function toEntry(row: RawEntry): EventLogEntry {
  return {
    id: Number(row.id),
    event_id: row.event_id,
    event_type: row.event_type,
    topic: row.topic,
    partition: row.partition,
    offset: row.offset === null ? null : Number(row.offset),
    direction: row.direction,
    consumer_group: row.consumer_group,
    correlation_id: row.correlation_id,
    causation_id: row.causation_id,
    session_id: row.session_id,
    source_node_id: row.source_node_id,
    status: row.status,
    error: row.error,
    attempt: row.attempt,
    duration_ms: row.duration_ms === null ? null : Number(row.duration_ms),
    event_timestamp: iso(row.event_timestamp),
    payload: row.payload,
    replayed_at: iso(row.replayed_at),
    recorded_at: row.recorded_at,
  }
}

function iso(value: Date | string | null): string | null {
  if (value === null) return null
  return value instanceof Date ? value.toISOString() : new Date(value).toISOString()
}
