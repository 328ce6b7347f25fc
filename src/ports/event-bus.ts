import type { OnexEnvelopeV1 } from '../core/events/envelope.ts'

/**
 * The event bus every node talks through (DESIGN section 4). Adapters: in-process (the embedded
 * default) and Apache Kafka; both pass test/contract/event-bus.test.ts.
 *
 * Semantics, whatever the adapter:
 * - publish resolves once the bus has the events durably (Kafka: acks=all); events with the same key
 *   (envelopeKey) keep their order.
 * - delivery is at least once, per consumer group: each group sees every event; within a group each
 *   partition is handled by one subscriber at a time, in order.
 * - a handler that throws is retried with backoff up to `maxAttempts`; then the event goes to the
 *   topic's dead-letter topic (`<topic>.dlq`) with the reason, and the partition moves on. An offset
 *   is committed only after its handler succeeded or the event was dead-lettered.
 * - a message that is not a valid envelope is dead-lettered at once with the reason; it never stops
 *   a consumer.
 * - subscribeBatch hands a handler several events at once: consecutive events of one partition, in
 *   order, at most `maxBatchSize` (what is there now: it never waits to fill a batch). Their offsets
 *   are committed after the handler resolved. A batch whose handler throws is split: each of its
 *   events is then delivered alone (a batch of one), retried and dead-lettered as above, attempts
 *   counted from 1 again; so one bad event never dead-letters the others. An invalid envelope ends a
 *   batch and is dead-lettered at once. Why: a consumer that changes state in one transaction per
 *   batch (the reducer) does far less work per event than one transaction per event allows.
 */
export interface EventBus {
  readonly kind: 'in-process' | 'kafka'
  /** Creates the catalogue's topics (with their partitions and retention) where the bus needs that. */
  ensureTopics(topics: readonly TopicSettings[]): Promise<void>
  publish(topic: string, envelope: OnexEnvelopeV1): Promise<void>
  /** All or nothing per call is not promised; each event is published at least once when this resolves. */
  publishBatch(messages: readonly OutgoingMessage[], options?: PublishOptions): Promise<void>
  subscribe(options: SubscribeOptions): Promise<Subscription>
  /** As subscribe, with the handler called on batches of events of one partition (see above). */
  subscribeBatch(options: BatchSubscribeOptions): Promise<Subscription>
  health(): Promise<BusHealth>
  /** Stops every subscription (finishing handlers in flight) and closes connections. */
  close(): Promise<void>
}

export interface PublishOptions {
  /**
   * Resolve only once the events are safe with their consumers, for a bus that keeps nothing durable
   * itself (in-process: when every consumer group with a live subscriber on an event's partition has
   * committed it, handled or dead-lettered). The outbox relay deletes a row after its publish resolves,
   * so on the embedded default an event must not leave the outbox while it exists only in memory: a
   * killed process would lose it. Kafka already has the events durably when publish resolves (acks=all):
   * nothing changes there. A subscription handler must never publish with this (it would wait for itself).
   */
  untilConsumed?: boolean
}

export interface TopicSettings {
  topic: string
  partitions: number
  retentionMs: number
}

export interface OutgoingMessage {
  topic: string
  envelope: OnexEnvelopeV1
}

export interface DeliveredEvent {
  topic: string
  partition: number
  offset: bigint
  key: string
  envelope: OnexEnvelopeV1
  /** 1 on first delivery. */
  attempt: number
}

export interface SubscribeOptions {
  groupId: string
  topics: readonly string[]
  handler: (event: DeliveredEvent) => Promise<void>
  /** Attempts before dead-lettering. @default 5 */
  maxAttempts?: number
  /** First retry delay; doubles each attempt. @default 100 */
  retryBackoffMs?: number
  /** Where a new group starts. @default 'earliest' */
  fromBeginning?: boolean
}

export interface BatchSubscribeOptions extends Omit<SubscribeOptions, 'handler'> {
  /** 1 to maxBatchSize consecutive events of one partition, in offset order. */
  handler: (events: readonly DeliveredEvent[]) => Promise<void>
  /** Most events in one call (at least 1). */
  maxBatchSize: number
}

export interface Subscription {
  /** Stops consuming after handlers in flight finish; their offsets are committed. */
  stop(): Promise<void>
}

export interface BusHealth {
  ok: boolean
  latencyMs: number
  error?: string
}

/** What a dead-letter message carries (DESIGN section 4), as the payload of a DEAD_LETTER envelope. */
export interface DeadLetter {
  original_topic: string
  original_key: string | null
  /** The original message as text (it may not have been a valid envelope). */
  original_data: string
  failure_reason: string
  failure_timestamp: string
  retry_attempts: number
}
