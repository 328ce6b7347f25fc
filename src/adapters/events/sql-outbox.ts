import { BatchBuffer } from '../../core/batch-buffer.ts'
import { envelopeKey } from '../../core/events/envelope.ts'
import type { Database, Queryable } from '../../ports/database.ts'
import type { OutgoingMessage } from '../../ports/event-bus.ts'
import type { Outbox } from '../../ports/outbox.ts'
import type { OutboxEnvelopes } from './outbox-envelopes.ts'

export interface SqlOutboxOptions {
  /** Deferred events wait at most about this long. @default 1000 */
  flushIntervalMs?: number
  /** Flush as soon as this many deferred events wait. @default 500 */
  batchSize?: number
  /** Deferred events kept while the database is away; the oldest are dropped first. @default 10000 */
  maxDeferred?: number
  /** A deferred flush failed (the events stay buffered, within the bound). */
  onError?: (err: unknown) => void
  /**
   * Where deferred events go instead of the `event_outbox` table: the runtime publishes them straight
   * on its bus. They announce no stored change, so the table would add nothing to what they are
   * promised (at most once, lost if the process dies before a flush), and each row in it costs an
   * insert, a read and a delete: measured on PGlite, about 100 µs of CPU per event, as much as the
   * whole /hash request they announce. Without it (no bus attached) they go to the table, where a
   * later relay publishes them.
   */
  publishDeferred?: (messages: readonly OutgoingMessage[]) => Promise<void>
  /** Where the messages written are remembered for this process's relay (OutboxEnvelopes). */
  envelopes?: OutboxEnvelopes
}

/**
 * One statement for any number of messages, in their order (ids follow WITH ORDINALITY). Each row's id
 * comes back with its event_id, which names the message it holds whatever order RETURNING gives.
 */
const insertMany = `INSERT INTO event_outbox (topic, key, envelope)
  SELECT m ->> 'topic', m ->> 'key', m -> 'envelope'
  FROM jsonb_array_elements($1::jsonb) WITH ORDINALITY AS t(m, n) ORDER BY n
  RETURNING id, envelope ->> 'event_id' AS event_id`
const insertOne = 'INSERT INTO event_outbox (topic, key, envelope) VALUES ($1, $2, $3::jsonb) RETURNING id'

/**
 * Writes an outbox's rows: in the caller's transaction, or in a statement of their own. With
 * `envelopes`, each message is remembered under the id of its row, for this process's relay.
 */
export async function insertOutboxRows(
  db: Queryable,
  messages: readonly OutgoingMessage[],
  envelopes?: OutboxEnvelopes,
): Promise<void> {
  if (messages.length === 0) return
  if (messages.length === 1) {
    const message = messages[0]!
    const { rows } = await db.query<{ id: number | string }>(insertOne, [
      message.topic,
      envelopeKey(message.envelope),
      JSON.stringify(message.envelope),
    ])
    if (envelopes && rows[0]) envelopes.remember(rows[0].id, message)
    return
  }
  const rows = messages.map((m) => ({ topic: m.topic, key: envelopeKey(m.envelope), envelope: m.envelope }))
  const { rows: inserted } = await db.query<{ id: number | string; event_id: string }>(insertMany, [
    JSON.stringify(rows),
  ])
  if (!envelopes) return
  const byEventId = new Map(messages.map((m) => [m.envelope.event_id, m]))
  // two messages of one event in a batch: which row holds which is not told; the relay reads them
  if (byEventId.size !== messages.length) return
  for (const row of inserted) {
    const message = byEventId.get(row.event_id)
    if (message) envelopes.remember(row.id, message)
  }
}

/** The Outbox port on the `event_outbox` table, through the Database port (PGlite or PostgreSQL alike). */
export class SqlOutbox implements Outbox {
  #db: Database
  #deferred: BatchBuffer<OutgoingMessage>
  #envelopes: OutboxEnvelopes | undefined
  #listeners = new Set<() => void>()

  constructor(db: Database, options: SqlOutboxOptions = {}) {
    this.#db = db
    this.#envelopes = options.envelopes
    const { publishDeferred } = options
    this.#deferred = new BatchBuffer({
      write: publishDeferred
        ? publishDeferred
        : async (batch) => {
            await insertOutboxRows(this.#db, batch, this.#envelopes)
            this.notify()
          },
      batchSize: options.batchSize ?? 500,
      flushIntervalMs: options.flushIntervalMs ?? 1000,
      maxBuffered: options.maxDeferred ?? 10_000,
      ...(options.onError && { onError: options.onError }),
    })
  }

  /** Deferred events dropped because the buffer was full. */
  get dropped(): number {
    return this.#deferred.dropped
  }

  append(tx: Queryable, messages: readonly OutgoingMessage[]): Promise<void> {
    return insertOutboxRows(tx, messages, this.#envelopes)
  }

  notify(): void {
    for (const listener of this.#listeners) listener()
  }

  async write(messages: readonly OutgoingMessage[]): Promise<void> {
    await insertOutboxRows(this.#db, messages, this.#envelopes)
    this.notify()
  }

  defer(messages: readonly OutgoingMessage[]): void {
    this.#deferred.addAll(messages)
  }

  /** Called on every notify (the relay's wake-up). Returns the unsubscribe function. */
  onNotify(listener: () => void): () => void {
    this.#listeners.add(listener)
    return () => this.#listeners.delete(listener)
  }

  /** Events deferred and not written yet. */
  get pending(): number {
    return this.#deferred.length
  }

  /** Writes (or publishes) the deferred events; concurrent calls share one flush. Never throws (onError is told). */
  flush(): Promise<void> {
    return this.#deferred.flush()
  }

  /** Flushes what is deferred (one last attempt) and stops the timer. */
  async close(): Promise<void> {
    await this.#deferred.stop()
    this.#listeners.clear()
  }
}
