import type { Queryable } from './database.ts'
import type { DeliveredEvent, SubscribeOptions, Subscription } from './event-bus.ts'

/** A state-changing consumer: its handler's changes commit with the event's deduplication mark. */
export interface ConsumerOptions extends Omit<SubscribeOptions, 'handler'> {
  /** Make every change with `tx`; an event already processed by this group never gets here. */
  handle(event: DeliveredEvent, tx: Queryable): Promise<void>
}

/**
 * How a node consumes events that change its state: never on the bus directly, always through the
 * pipeline every consumer gets (each attempt in the event log; the handler run once per event and
 * group, in a transaction with its mark in `processed_events`). The runtime's EventBackbone is it.
 */
export interface EventConsumers {
  /** Undefined when the process runs without a bus (events then wait in the outbox). */
  subscribe(options: ConsumerOptions): Promise<Subscription | undefined>
}
