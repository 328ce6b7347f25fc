import type { Queryable } from './database.ts'
import type { OutgoingMessage } from './event-bus.ts'

/**
 * How a node publishes events: never on the bus directly, always through the transactional outbox
 * (table `event_outbox`). An event written in the transaction of the state change it announces exists
 * exactly when that change committed; the outbox relay then publishes it at least once, in order.
 *
 * @example
 * const record = await db.transaction(async (tx) => {
 *   const record = await store.insert(thing, tx)
 *   await outbox.append(tx, [{ topic, envelope }])
 *   return record
 * })
 * outbox.notify()
 */
export interface Outbox {
  /** Writes the messages with `tx`: they are published if and only if `tx` commits. */
  append(tx: Queryable, messages: readonly OutgoingMessage[]): Promise<void>
  /** Wakes the relay; call it once the transaction that appended committed (else it waits for its poll). */
  notify(): void
  /** Writes the messages in a statement of their own (no state change behind them), then wakes the relay. */
  write(messages: readonly OutgoingMessage[]): Promise<void>
  /**
   * Informational events off the request path: buffered, and published in batches within about a
   * second (straight on the bus when the process has one, else through the outbox table). At most
   * once: the buffer is bounded (the oldest are dropped while the bus or database is away) and lost if
   * the process dies before a flush, and they may overtake appended events: use it only for events
   * that announce no stored change.
   */
  defer(messages: readonly OutgoingMessage[]): void
}
