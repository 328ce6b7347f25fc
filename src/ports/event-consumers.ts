import type { Queryable } from './database.ts'
import type { BatchSubscribeOptions, DeliveredEvent, SubscribeOptions, Subscription } from './event-bus.ts'

/** A state-changing consumer: its handler's changes commit with the event's deduplication mark. */
export interface ConsumerOptions extends Omit<SubscribeOptions, 'handler'> {
  /** Make every change with `tx`; an event already processed by this group never gets here. */
  handle(event: DeliveredEvent, tx: Queryable): Promise<void>
}

/**
 * A consumer that changes state a batch at a time (EventBus.subscribeBatch). The pipeline logs every
 * event but opens no transaction and keeps no dedup mark: the handler makes its changes in one
 * transaction of its own per batch and deduplicates there, by event id, in its own table (the
 * reducer's action_dedup), which it must, because a batch may hold events already processed.
 */
export interface BatchConsumerOptions extends Omit<BatchSubscribeOptions, 'handler'> {
  handleBatch(events: readonly DeliveredEvent[]): Promise<void>
}

/**
 * How a node consumes events that change its state: never on the bus directly, always through the
 * pipeline every consumer gets (each attempt in the event log; the handler run once per event and
 * group, in a transaction with its mark in `processed_events`). The runtime's EventBackbone is it.
 */
export interface EventConsumers {
  /** Undefined when the process runs without a bus (events then wait in the outbox). */
  subscribe(options: ConsumerOptions): Promise<Subscription | undefined>
  /** Batches of one partition (see BatchConsumerOptions); undefined without a bus. */
  subscribeBatch(options: BatchConsumerOptions): Promise<Subscription | undefined>
}
