import { randomUUID } from 'node:crypto'
import { createEnvelope, envelopeKey, type OnexEnvelopeV1 } from '../../src/core/events/envelope.ts'
import { dlqTopicName } from '../../src/core/events/topics.ts'
import type {
  BatchSubscribeOptions,
  BusHealth,
  DeadLetter,
  DeliveredEvent,
  EventBus,
  OutgoingMessage,
  SubscribeOptions,
  Subscription,
  TopicSettings,
} from '../../src/ports/event-bus.ts'

/**
 * A test double of the EventBus port, for the outbox and event log suites until the real adapters
 * (in-process, Kafka) land: it records every publish, can be made to fail, and delivers to
 * subscribers the way the port promises (each group sees each event once, in order, a throwing
 * handler retried up to maxAttempts and then dead-lettered to `<topic>.dlq` as a DEAD_LETTER
 * envelope). One partition per topic; no durability, no backoff waits.
 */
export class RecordingBus implements EventBus {
  readonly kind = 'in-process' as const
  /** Every message accepted, in order. */
  readonly published: OutgoingMessage[] = []
  /** publishBatch calls, accepted or not. */
  calls = 0
  /** While set, publish and publishBatch throw it. */
  failure: Error | undefined
  ensured: TopicSettings[] = []
  #logs = new Map<string, DeliveredEvent[]>()
  #consumers = new Set<Consumer>()
  #closed = false

  async ensureTopics(topics: readonly TopicSettings[]): Promise<void> {
    this.ensured.push(...topics)
  }

  publish(topic: string, envelope: OnexEnvelopeV1): Promise<void> {
    return this.publishBatch([{ topic, envelope }])
  }

  async publishBatch(messages: readonly OutgoingMessage[]): Promise<void> {
    this.calls++
    if (this.#closed) throw new Error('bus closed')
    if (this.failure) throw this.failure
    for (const m of messages) {
      const copy = { topic: m.topic, envelope: structuredClone(m.envelope) }
      this.published.push(copy)
      this.#append(copy.topic, copy.envelope)
    }
  }

  /** Events of a topic, in order. */
  topic(topic: string): OnexEnvelopeV1[] {
    return (this.#logs.get(topic) ?? []).map((d) => d.envelope)
  }

  /** Batches of one: what the port allows ("up to maxBatchSize"), enough for a test double. */
  subscribeBatch(options: BatchSubscribeOptions): Promise<Subscription> {
    const { handler, maxBatchSize: _, ...rest } = options
    return this.subscribe({ ...rest, handler: (event) => handler([event]) })
  }

  async subscribe(options: SubscribeOptions): Promise<Subscription> {
    const consumer = new Consumer(options, (topic, envelope) => this.#append(topic, envelope))
    this.#consumers.add(consumer)
    if (options.fromBeginning !== false)
      for (const topic of options.topics)
        for (const event of this.#logs.get(topic) ?? []) consumer.push(event)
    return {
      stop: async () => {
        this.#consumers.delete(consumer)
        await consumer.stop()
      },
    }
  }

  async health(): Promise<BusHealth> {
    return this.failure
      ? { ok: false, latencyMs: 0, error: this.failure.message }
      : { ok: true, latencyMs: 0 }
  }

  async close(): Promise<void> {
    this.#closed = true
    await Promise.all([...this.#consumers].map((c) => c.stop()))
    this.#consumers.clear()
  }

  /** Resolves once every subscriber has handled (or dead-lettered) everything published so far. */
  async idle(): Promise<void> {
    while ([...this.#consumers].some((c) => c.busy)) await new Promise((r) => setTimeout(r, 2))
  }

  #append(topic: string, envelope: OnexEnvelopeV1): void {
    const log = this.#logs.get(topic) ?? []
    this.#logs.set(topic, log)
    const event: DeliveredEvent = {
      topic,
      partition: 0,
      offset: BigInt(log.length),
      key: envelopeKey(envelope),
      envelope,
      attempt: 1,
    }
    log.push(event)
    for (const c of this.#consumers) if (c.topics.has(topic)) c.push(event)
  }
}

class Consumer {
  readonly topics: Set<string>
  #options: SubscribeOptions
  #queue: DeliveredEvent[] = []
  #draining: Promise<void> | undefined
  #stopped = false
  #deadLetter: (topic: string, envelope: OnexEnvelopeV1) => void

  constructor(options: SubscribeOptions, deadLetter: (topic: string, envelope: OnexEnvelopeV1) => void) {
    this.#options = options
    this.topics = new Set(options.topics)
    this.#deadLetter = deadLetter
  }

  get busy(): boolean {
    return this.#queue.length > 0 || this.#draining !== undefined
  }

  push(event: DeliveredEvent): void {
    this.#queue.push(event)
    this.#draining ??= new Promise<void>((resolve) => setImmediate(resolve))
      .then(() => this.#drain())
      .finally(() => {
        this.#draining = undefined
      })
  }

  async stop(): Promise<void> {
    this.#stopped = true
    await this.#draining
  }

  async #drain(): Promise<void> {
    const maxAttempts = this.#options.maxAttempts ?? 5
    while (this.#queue.length && !this.#stopped) {
      const event = this.#queue.shift()!
      for (let attempt = 1; ; attempt++) {
        try {
          await this.#options.handler({ ...event, attempt })
          break
        } catch (err) {
          if (attempt < maxAttempts) continue
          const record: DeadLetter = {
            original_topic: event.topic,
            original_key: event.key,
            original_data: JSON.stringify(event.envelope),
            failure_reason: err instanceof Error ? err.message : String(err),
            failure_timestamp: new Date().toISOString(),
            retry_attempts: attempt,
          }
          const envelope = createEnvelope(
            { nodeId: 'recording-bus', version: '0.0.0', environment: event.envelope.environment },
            {
              eventType: 'DEAD_LETTER',
              payload: { ...record },
              correlationId: event.envelope.correlation_id,
              causationId: event.envelope.event_id,
            },
            { eventId: randomUUID(), now: new Date() },
          )
          this.#deadLetter(dlqTopicName(event.topic), envelope)
          break
        }
      }
    }
  }
}
