import type { EventLogEntry, EventLogFilter, EventLogStore } from '../../adapters/events/event-log-store.ts'
import { NotFoundError } from '../../core/errors.ts'
import { type OnexEnvelopeV1, parseEnvelope } from '../../core/events/envelope.ts'
import { type SessionTimeline, sessionTimeline } from '../../core/events/trace.ts'
import type { Database } from '../../ports/database.ts'
import type { Outbox } from '../../ports/outbox.ts'

export interface ReplayRequest {
  /** Event log ids of dead letters; default: the oldest not replayed yet. */
  ids?: readonly number[] | undefined
  /** Only dead letters of this original topic (its `.dlq` name is accepted too). */
  topic?: string | undefined
  limit: number
}

export interface ReplayOutcome {
  replayed: Array<{ id: number; event_id: string; topic: string }>
  skipped: Array<{ id: number; event_id: string; topic: string; reason: string }>
}

/**
 * The event tracer (the seeds' event dashboard, backed by `event_logs`): events by correlation,
 * session, topic or direction, a session's timeline, and the replay of dead letters. Framework-free:
 * the HTTP routes and `omninode events` call it.
 */
export class EventTracer {
  #db: Database
  #store: EventLogStore
  #outbox: Outbox

  constructor(deps: { db: Database; store: EventLogStore; outbox: Outbox }) {
    this.#db = deps.db
    this.#store = deps.store
    this.#outbox = deps.outbox
  }

  list(filter: EventLogFilter): Promise<EventLogEntry[]> {
    return this.#store.list(filter)
  }

  /** The session's timeline; NotFoundError when no event of it was logged. */
  async session(
    sessionId: string,
    limit: number,
  ): Promise<SessionTimeline<EventLogEntry> & { truncated: boolean }> {
    const entries = await this.#store.session(sessionId, limit + 1)
    if (entries.length === 0)
      throw new NotFoundError(`no event of session ${sessionId} in the event log`, { session_id: sessionId })
    return { ...sessionTimeline(sessionId, entries.slice(0, limit)), truncated: entries.length > limit }
  }

  /**
   * Republishes dead letters: each one's original envelope, unchanged (same event_id, so consumers that
   * processed it already skip it), to its original topic, through the outbox, in the transaction that
   * marks it replayed, so that two replays never both send it. A dead letter whose original message was
   * not a valid envelope cannot be republished: it is reported as skipped and stays unreplayed.
   */
  async replay(request: ReplayRequest): Promise<ReplayOutcome> {
    const topic = request.topic?.replace(/\.dlq$/, '')
    const outcome = await this.#db.transaction(async (tx) => {
      const letters = await this.#store.takeDeadLetters(tx, { ids: request.ids, topic, limit: request.limit })
      const result: ReplayOutcome = { replayed: [], skipped: [] }
      const messages: Array<{ topic: string; envelope: OnexEnvelopeV1 }> = []
      for (const letter of letters) {
        const originalTopic = String(letter.payload['original_topic'] ?? letter.topic)
        const ref = { id: letter.id, event_id: letter.event_id, topic: originalTopic }
        try {
          messages.push({
            topic: originalTopic,
            envelope: parseEnvelope(String(letter.payload['original_data'])),
          })
          result.replayed.push(ref)
        } catch (err) {
          result.skipped.push({ ...ref, reason: (err as Error).message })
        }
      }
      await this.#outbox.append(tx, messages)
      await this.#store.markReplayed(
        tx,
        result.replayed.map((r) => r.event_id),
      )
      return result
    })
    if (outcome.replayed.length) this.#outbox.notify()
    return outcome
  }
}
