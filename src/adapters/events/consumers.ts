import { roundMs } from '../../core/duration.ts'
import { sessionIdOf } from '../../core/events/trace.ts'
import type { Queryable } from '../../ports/database.ts'
import type { DeliveredEvent } from '../../ports/event-bus.ts'
import type { EventLogRecorder } from './event-log-recorder.ts'
import type { NewEventLogEntry } from './event-log-store.ts'

export type EventHandler = (event: DeliveredEvent) => Promise<void>

/**
 * Consumer deduplication: runs `fn` in a transaction that first marks (group, event id) processed in
 * `processed_events`. A redelivered event finds its mark and `fn` does not run; a failed `fn` rolls
 * the mark back with its own changes, so the retry runs it again. `fn` must make its changes with
 * `tx` for this to hold.
 */
export async function processOnce<T>(
  db: Queryable,
  group: string,
  eventId: string,
  fn: (tx: Queryable) => Promise<T>,
): Promise<{ duplicate: true } | { duplicate: false; value: T }> {
  return db.transaction(async (tx) => {
    const { rows } = await tx.query(
      `INSERT INTO processed_events (consumer_group, event_id) VALUES ($1, $2)
       ON CONFLICT DO NOTHING RETURNING 1 AS marked`,
      [group, eventId],
    )
    if (rows.length === 0) return { duplicate: true } as const
    return { duplicate: false, value: await fn(tx) } as const
  })
}

/** An event log entry for a delivered event, with the fields every direction shares. */
export function deliveredEntry(
  event: DeliveredEvent,
  fields: Pick<NewEventLogEntry, 'direction' | 'status'> & Partial<NewEventLogEntry>,
): NewEventLogEntry {
  const e = event.envelope
  return {
    event_id: e.event_id,
    event_type: e.event_type,
    topic: event.topic,
    partition: event.partition,
    offset: event.offset.toString(),
    correlation_id: e.correlation_id ?? null,
    causation_id: e.causation_id ?? null,
    session_id: sessionIdOf(e) ?? null,
    source_node_id: e.source_node_id,
    event_timestamp: e.event_timestamp,
    payload: e.payload,
    attempt: event.attempt,
    ...fields,
  }
}

/**
 * Wraps a subscription handler so that every attempt is in the event log (direction `consumed`, with
 * the group, the attempt, the handler's time and, on failure, its error). Recording only buffers:
 * it adds nothing to the handler's time. Dead letters are logged by the DLQ monitor, which sees them
 * on the dead-letter topics.
 */
export function withEventLog(
  recorder: EventLogRecorder,
  groupId: string,
  handler: EventHandler,
): EventHandler {
  return async (event) => {
    const started = performance.now()
    try {
      await handler(event)
    } catch (err) {
      recorder.record(
        deliveredEntry(event, {
          direction: 'consumed',
          consumer_group: groupId,
          status: 'failed',
          error: err instanceof Error ? err.message : String(err),
          duration_ms: roundMs(performance.now() - started),
        }),
      )
      throw err
    }
    recorder.record(
      deliveredEntry(event, {
        direction: 'consumed',
        consumer_group: groupId,
        status: 'ok',
        duration_ms: roundMs(performance.now() - started),
      }),
    )
  }
}

export type BatchEventHandler = (events: readonly DeliveredEvent[]) => Promise<void>

/** withEventLog for a batch handler: one entry per event, each with the batch's time and outcome. */
export function withBatchEventLog(
  recorder: EventLogRecorder,
  groupId: string,
  handler: BatchEventHandler,
): BatchEventHandler {
  return async (events) => {
    const started = performance.now()
    let error: string | undefined
    try {
      await handler(events)
    } catch (err) {
      error = err instanceof Error ? err.message : String(err)
      throw err
    } finally {
      const duration_ms = roundMs(performance.now() - started)
      for (const event of events)
        recorder.record(
          deliveredEntry(event, {
            direction: 'consumed',
            consumer_group: groupId,
            status: error === undefined ? 'ok' : 'failed',
            ...(error === undefined ? {} : { error }),
            duration_ms,
          }),
        )
    }
  }
}
