import type { OutgoingMessage } from '../../ports/event-bus.ts'

/**
 * The messages this process wrote to `event_outbox`, by the id of their row: the relay publishes these
 * without reading their envelopes back from the table. The table stays the truth: the relay still
 * takes the ids to publish from it, in its order, and reads there what is not here (rows another
 * process wrote, rows left by a previous start, or forgotten here when the backlog outgrew the
 * capacity). A row's id is never given to another row (a sequence), and a row never changes, so an
 * entry can only be the message of its row; the entry of a transaction that rolled back is never
 * asked for, and the capacity drops it in time.
 *
 * Why: reading an envelope back costs PostgreSQL its jsonb output and this process a JSON.parse, for an
 * object it had in hand: with workflows running on PGlite (ten events each), that read was about 10% of
 * the time spent in statements.
 */
export class OutboxEnvelopes {
  readonly #capacity: number
  /** By row id (as text: pg gives bigint ids as strings, PGlite as numbers), oldest first. */
  readonly #byId = new Map<string, OutgoingMessage>()

  /** @param capacity messages kept at most; beyond, the oldest is forgotten (read from the table). */
  constructor(capacity = 5000) {
    this.#capacity = capacity
  }

  remember(id: number | string, message: OutgoingMessage): void {
    this.#byId.set(String(id), message)
    if (this.#byId.size > this.#capacity) {
      const oldest = this.#byId.keys().next().value
      if (oldest !== undefined) this.#byId.delete(oldest)
    }
  }

  get(id: number | string): OutgoingMessage | undefined {
    return this.#byId.get(String(id))
  }

  /** The rows were published and deleted. */
  forget(ids: readonly (number | string)[]): void {
    for (const id of ids) this.#byId.delete(String(id))
  }

  get size(): number {
    return this.#byId.size
  }
}
