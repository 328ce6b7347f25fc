import { roundMs as round } from '../duration.ts'
import { InvalidInputError } from '../errors.ts'
import type { OnexEnvelopeV1 } from './envelope.ts'

/**
 * The event tracer's domain: which session an event belongs to, and a session's timeline built from
 * its event log entries (what was published, consumed, dead-lettered; how long each step took).
 */

const sessionPattern = /^[A-Za-z0-9._:-]{1,128}$/

/** A session id as the tracer accepts it: 1 to 128 of letters, digits and `._:-`. */
export function isSessionId(value: unknown): value is string {
  return typeof value === 'string' && sessionPattern.test(value)
}

/**
 * The caller's `x-session-id` header (which groups several requests into one session of the tracer):
 * undefined when absent, an InvalidInputError naming the header when it is not a session id.
 */
export function sessionIdFromHeader(value: string | string[] | undefined): string | undefined {
  if (value === undefined) return undefined
  if (!isSessionId(value)) {
    const message = 'must be 1 to 128 letters, digits, dots, underscores, colons or dashes'
    throw new InvalidInputError(`x-session-id ${message}`, [{ field: 'x-session-id', message }])
  }
  return value
}

/** The session of an event: `metadata.session_id`, else `payload.session_id`, when it is a session id. */
export function sessionIdOf(e: Pick<OnexEnvelopeV1, 'metadata' | 'payload'>): string | undefined {
  const candidate = e.metadata['session_id'] ?? e.payload['session_id']
  return isSessionId(candidate) ? candidate : undefined
}

export type EventDirection = 'published' | 'consumed' | 'dead_lettered'

/** One event log entry, as the tracer reads it. */
export interface TraceEntry {
  id: number
  event_id: string
  event_type: string
  topic: string
  direction: EventDirection
  consumer_group: string | null
  correlation_id: string | null
  status: 'ok' | 'failed'
  error: string | null
  duration_ms: number | null
  /** ISO-8601 */
  recorded_at: string
}

export interface TimelineStep<E extends TraceEntry> {
  entry: E
  /** From the session's start to the end of this step. */
  since_start_ms: number
  /** From the end of the previous step to the end of this one (0 for the first). */
  since_previous_ms: number
}

export interface SessionTimeline<E extends TraceEntry> {
  session_id: string
  /** The start of the earliest step (its end minus its duration). */
  started_at: string
  ended_at: string
  total_duration_ms: number
  event_count: number
  /** Steps that failed: failed handler attempts and dead letters. */
  failures: number
  /** failed when an event was dead-lettered, or a consumer group's last attempt at an event failed. */
  status: 'ok' | 'failed'
  correlation_ids: string[]
  steps: Array<TimelineStep<E>>
}

/**
 * The timeline of a session from its entries (at least one), in time order; entries recorded at the
 * same time keep the order they were given in (the event log's: by recorded_at to the microsecond, then id).
 */
export function sessionTimeline<E extends TraceEntry>(
  sessionId: string,
  entries: readonly E[],
): SessionTimeline<E> {
  if (entries.length === 0) throw new RangeError('a timeline needs at least one entry')
  const sorted = [...entries].sort((a, b) => time(a) - time(b))
  const start = Math.min(...sorted.map((e) => time(e) - (e.duration_ms ?? 0)))
  const end = time(sorted.at(-1)!)
  const lastAttempt = new Map<string, 'ok' | 'failed'>()
  let deadLettered = false
  for (const e of sorted) {
    if (e.direction === 'dead_lettered') deadLettered = true
    if (e.direction === 'consumed') lastAttempt.set(`${e.consumer_group} ${e.event_id}`, e.status)
  }
  const failed = deadLettered || [...lastAttempt.values()].includes('failed')
  const correlationIds = new Set(sorted.flatMap((e) => (e.correlation_id ? [e.correlation_id] : [])))
  return {
    session_id: sessionId,
    started_at: new Date(start).toISOString(),
    ended_at: new Date(end).toISOString(),
    total_duration_ms: round(end - start),
    event_count: new Set(sorted.map((e) => e.event_id)).size,
    failures: sorted.filter((e) => e.status === 'failed').length,
    status: failed ? 'failed' : 'ok',
    correlation_ids: [...correlationIds],
    steps: sorted.map((entry, i) => ({
      entry,
      since_start_ms: round(time(entry) - start),
      since_previous_ms: i === 0 ? 0 : round(time(entry) - time(sorted[i - 1]!)),
    })),
  }
}

const time = (e: TraceEntry) => Date.parse(e.recorded_at)
