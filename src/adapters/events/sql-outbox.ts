import { envelopeKey } from '../../core/events/envelope.ts'
import type { Database, Queryable } from '../../ports/database.ts'
import type { OutgoingMessage } from '../../ports/event-bus.ts'
import type { Outbox } from '../../ports/outbox.ts'

export interface SqlOutboxOptions {
  /** Deferred events are flushed at least this often. @default 1000 */
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
}

/** One statement for any number of messages, in their order (ids follow WITH ORDINALITY). */
const insertMany = `INSERT INTO event_outbox (topic, key, envelope)
  SELECT m ->> 'topic', m ->> 'key', m -> 'envelope'
  FROM jsonb_array_elements($1::jsonb) WITH ORDINALITY AS t(m, n) ORDER BY n`
const insertOne = 'INSERT INTO event_outbox (topic, key, envelope) VALUES ($1, $2, $3::jsonb)'

/** Writes an outbox's rows: in the caller's transaction, or in a statement of their own. */
export async function insertOutboxRows(db: Queryable, messages: readonly OutgoingMessage[]): Promise<void> {
  if (messages.length === 0) return
  if (messages.length === 1) {
    const { topic, envelope } = messages[0]!
    await db.query(insertOne, [topic, envelopeKey(envelope), JSON.stringify(envelope)])
    return
  }
  const rows = messages.map((m) => ({ topic: m.topic, key: envelopeKey(m.envelope), envelope: m.envelope }))
  await db.query(insertMany, [JSON.stringify(rows)])
}

/** The Outbox port on the `event_outbox` table, through the Database port (PGlite or PostgreSQL alike). */
export class SqlOutbox implements Outbox {
  #db: Database
  #deferred: OutgoingMessage[] = []
  #opts: Required<Omit<SqlOutboxOptions, 'onError' | 'publishDeferred'>>
  #onError: (err: unknown) => void
  #publishDeferred: ((messages: readonly OutgoingMessage[]) => Promise<void>) | undefined
  #listeners = new Set<() => void>()
  #timer: NodeJS.Timeout | undefined
  #flushing: Promise<void> | undefined
  #closed = false
  /** Deferred events dropped because the buffer was full. */
  dropped = 0

  constructor(db: Database, options: SqlOutboxOptions = {}) {
    this.#db = db
    this.#opts = {
      flushIntervalMs: options.flushIntervalMs ?? 1000,
      batchSize: options.batchSize ?? 500,
      maxDeferred: options.maxDeferred ?? 10_000,
    }
    this.#onError = options.onError ?? (() => {})
    this.#publishDeferred = options.publishDeferred
  }

  append(tx: Queryable, messages: readonly OutgoingMessage[]): Promise<void> {
    return insertOutboxRows(tx, messages)
  }

  notify(): void {
    for (const listener of this.#listeners) listener()
  }

  async write(messages: readonly OutgoingMessage[]): Promise<void> {
    await insertOutboxRows(this.#db, messages)
    this.notify()
  }

  defer(messages: readonly OutgoingMessage[]): void {
    this.#deferred.push(...messages)
    this.#trim()
    if (this.#deferred.length >= this.#opts.batchSize) void this.flush()
    else this.#timer ??= setTimeout(() => void this.flush(), this.#opts.flushIntervalMs).unref()
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
    clearTimeout(this.#timer)
    this.#timer = undefined
    this.#flushing ??= this.#writeDeferred().finally(() => {
      this.#flushing = undefined
      if (this.#deferred.length && !this.#closed)
        this.#timer ??= setTimeout(() => void this.flush(), this.#opts.flushIntervalMs).unref()
    })
    return this.#flushing
  }

  /** Flushes what is deferred (one last attempt) and stops the timer. */
  async close(): Promise<void> {
    this.#closed = true
    await this.flush()
    if (this.#deferred.length) await this.flush()
    clearTimeout(this.#timer)
    this.#listeners.clear()
  }

  async #writeDeferred(): Promise<void> {
    let wrote = false
    while (this.#deferred.length) {
      const batch = this.#deferred.splice(0, this.#opts.batchSize)
      try {
        if (this.#publishDeferred) await this.#publishDeferred(batch)
        else {
          await insertOutboxRows(this.#db, batch)
          wrote = true
        }
      } catch (err) {
        this.#onError(err)
        this.#deferred.unshift(...batch)
        this.#trim()
        break
      }
    }
    if (wrote) this.notify()
  }

  #trim(): void {
    const excess = this.#deferred.length - this.#opts.maxDeferred
    if (excess > 0) {
      this.#deferred.splice(0, excess)
      this.dropped += excess
    }
  }
}
