import { setTimeout as sleep } from 'node:timers/promises'
import {
  Consumer,
  type Message,
  type MessagesStream,
  MessagesStreamFallbackModes,
  MessagesStreamModes,
} from '@platformatic/kafka'
import { UnavailableError } from '../../../core/errors.ts'
import { envelopeKey, type OnexEnvelopeV1, parseEnvelope } from '../../../core/events/envelope.ts'
import type {
  BatchSubscribeOptions,
  DeliveredEvent,
  SubscribeOptions,
  Subscription,
} from '../../../ports/event-bus.ts'
import type { FailedBytes } from '../dead-letter.ts'
import {
  type DeliveryOutcome,
  deliverBatchWithRetries,
  deliverWithRetries,
  failureReason,
  type RetryPolicy,
} from '../delivery.ts'
import { describe, toBusError, unknownTopic } from './errors.ts'
import { OffsetCommitter } from './offset-committer.ts'
import type { ResolvedKafkaBusOptions } from './options.ts'

export const subscribeDefaults = { maxAttempts: 5, retryBackoffMs: 100, fromBeginning: true } as const

/** Longest stop() waits for the last commit, and for the group to be left. */
const STOP_STEP_TIMEOUT_MS = 5_000
/** Longest subscribe() waits for the group to be joined and the offsets to be known. */
const READY_TIMEOUT_MS = 30_000

export interface SubscriptionDeps {
  options: ResolvedKafkaBusOptions
  /** Writes a dead letter, retrying through outages; false when `signal` ended it first. */
  deadLetter(failed: FailedBytes, signal: AbortSignal): Promise<boolean>
  /** Distinguishes the client ids of several subscriptions of one group. */
  member: number
}

/** A subscription's handler: one event at a time (subscribe) or batches of one partition (subscribeBatch). */
export type SubscriptionOptions = SubscribeOptions | BatchSubscribeOptions

function isBatch(options: SubscriptionOptions): options is BatchSubscribeOptions {
  return 'maxBatchSize' in options
}

/** A parsed message waiting in a batch. */
interface Pending {
  message: Message<Buffer, Buffer, Buffer, Buffer>
  event: Omit<DeliveredEvent, 'attempt'>
}

/** The messages of one partition, handled one after the other. */
interface Lane {
  queue: Message[]
  /** Index of the next message in `queue` (shift() would copy the array each time). */
  next: number
  running: Promise<void> | undefined
  /** Highest offset handled or dead-lettered: a redelivered copy (after a reconnect) is skipped. */
  done: bigint
}

const empty = Buffer.alloc(0)

/**
 * One subscription: one consumer in the group, its own member.
 *
 * - Partitions are handled concurrently, each in order: a message waits for its predecessors on the same
 *   partition (retries and dead-lettering included), never for other partitions.
 * - Offsets are committed only for messages that were handled or dead-lettered, a few milliseconds
 *   after (OffsetCommitter); the client's autocommit is off.
 * - Rebalances: the stream resumes each newly assigned partition from its committed offset. A message of
 *   a partition this member no longer owns is not handled, and a handler in flight when its partition
 *   goes finishes but its offset is not committed: the new owner gets the message again.
 * - The stream dies when the broker is away longer than the client's retries (fetch, metadata, commit
 *   answer errors): the subscription opens a new one, with backoff (200 ms doubling to 5 s), from the
 *   committed offsets, skipping what it had already handled. Nothing is lost; duplicates are possible.
 */
export class KafkaSubscription implements Subscription {
  readonly #options: ResolvedKafkaBusOptions
  readonly #subscribe: SubscriptionOptions
  readonly #policy: RetryPolicy
  readonly #deps: SubscriptionDeps
  readonly #consumer: Consumer
  readonly #committer: OffsetCommitter
  readonly #lanes = new Map<string, Lane>()
  readonly #abort = new AbortController()
  #stream: MessagesStream<Buffer, Buffer, Buffer, Buffer> | undefined
  #buffered = 0
  #paused = false
  #supervisor: Promise<void> | undefined
  #stopped: Promise<void> | undefined

  constructor(subscribe: SubscriptionOptions, deps: SubscriptionDeps) {
    const o = deps.options
    this.#options = o
    this.#subscribe = subscribe
    this.#deps = deps
    this.#policy = {
      maxAttempts: Math.max(1, subscribe.maxAttempts ?? subscribeDefaults.maxAttempts),
      backoffMs: Math.max(0, subscribe.retryBackoffMs ?? subscribeDefaults.retryBackoffMs),
    }
    this.#consumer = new Consumer({
      clientId: `${o.clientId}-${subscribe.groupId}-${deps.member}`,
      groupId: subscribe.groupId,
      bootstrapBrokers: [...o.brokers],
      autocommit: false,
      sessionTimeout: o.sessionTimeoutMs,
      heartbeatInterval: o.heartbeatIntervalMs,
      rebalanceTimeout: Math.max(o.sessionTimeoutMs, 15_000),
      maxWaitTime: 500,
      retries: 5,
      retryDelay: (_client, _operation, attempt) => Math.min(2_000, 100 * 2 ** attempt),
      connectTimeout: 2_000,
      requestTimeout: 15_000,
    })
    // heartbeats and rejoins report here; without a listener an 'error' event would throw
    this.#consumer.on('error', (error: Error) => {
      if (!this.#abort.signal.aborted)
        o.logger.warn({ err: describe(error), group: subscribe.groupId }, 'kafka consumer error')
    })
    this.#committer = new OffsetCommitter(this.#consumer, (t, p) => this.#owns(t, p), o.logger)
    // after a rebalance: what was queued for partitions that went to other members is theirs now
    this.#consumer.on('consumer:group:join', () => this.#forgetRevoked())
  }

  /** Joins the group and resolves once the first stream knows where to start. */
  async start(): Promise<void> {
    const subscribeOptions = this.#subscribe
    const ready = Promise.withResolvers<void>()
    const timer = setTimeout(
      () =>
        ready.reject(
          new UnavailableError(
            `subscribe ${subscribeOptions.groupId}: no group assignment within ${READY_TIMEOUT_MS} ms`,
          ),
        ),
      READY_TIMEOUT_MS,
    )
    this.#supervisor = this.#supervise(ready)
    try {
      await ready.promise
    } catch (error) {
      await this.stop()
      throw error
    } finally {
      clearTimeout(timer)
    }
  }

  stop(): Promise<void> {
    this.#stopped ??= this.#stop()
    return this.#stopped
  }

  async #stop(): Promise<void> {
    this.#abort.abort()
    this.#stream?.pause()
    for (const lane of this.#lanes.values()) this.#drop(lane)
    await Promise.allSettled([...this.#lanes.values()].map((lane) => lane.running))
    if (!(await this.#committer.drain(STOP_STEP_TIMEOUT_MS)))
      this.#options.logger.warn(
        { group: this.#subscribe.groupId },
        'kafka: last offsets not committed at stop',
      )
    this.#committer.dispose()
    await within(this.#consumer.close(true), STOP_STEP_TIMEOUT_MS).catch((error: unknown) => {
      this.#options.logger.warn(
        { err: describe(error), group: this.#subscribe.groupId },
        'kafka: leaving the group failed',
      )
    })
    await this.#supervisor
  }

  async #supervise(ready: PromiseWithResolvers<void>): Promise<void> {
    const signal = this.#abort.signal
    let delay = 200
    let settled = false
    ready.promise.then(
      () => {
        settled = true
      },
      () => {
        settled = true
      },
    )
    while (!signal.aborted) {
      const started = Date.now()
      try {
        const stream = await this.#consumer.consume({
          topics: [...this.#subscribe.topics],
          mode: MessagesStreamModes.COMMITTED,
          fallbackMode:
            (this.#subscribe.fromBeginning ?? subscribeDefaults.fromBeginning)
              ? MessagesStreamFallbackModes.EARLIEST
              : MessagesStreamFallbackModes.LATEST,
          autocommit: false,
        })
        if (signal.aborted) {
          // stop() came while the group was being joined
          await stream.close().catch(() => undefined)
          break
        }
        this.#stream = stream
        this.#paused = false

        const ended = new Promise<Error | undefined>((resolve) => {
          let failure: Error | undefined
          stream.on('error', (error: Error) => {
            failure = error
          })
          stream.once('close', () => resolve(failure))
        })
        if (!settled) stream.once('offsets', () => ready.resolve())
        stream.on('data', (message) => this.#accept(message))
        const failure = await ended
        if (signal.aborted) break
        this.#options.logger.warn(
          { err: failure ? describe(failure) : 'stream ended', group: this.#subscribe.groupId },
          'kafka consumer stream lost; reopening from the committed offsets',
        )
      } catch (error) {
        if (signal.aborted) break
        if (!settled && unknownTopic(error) !== undefined) {
          ready.reject(toBusError(error, `subscribe ${this.#subscribe.groupId}`))
          return
        }
        this.#options.logger.warn(
          { err: describe(error), group: this.#subscribe.groupId },
          'kafka consumer cannot reach the broker; retrying',
        )
      }
      if (Date.now() - started > 30_000) delay = 200
      await sleep(delay, undefined, { signal }).catch(() => undefined)
      delay = Math.min(delay * 2, 5_000)
    }
    ready.resolve()
  }

  #forgetRevoked(): void {
    for (const [key, lane] of this.#lanes) {
      const at = key.lastIndexOf(':')
      if (this.#owns(key.slice(0, at), Number(key.slice(at + 1)))) continue
      this.#drop(lane)
      // offsets restart from the committed one if the partition comes back
      lane.done = -1n
    }
  }

  #owns(topic: string, partition: number): boolean {
    const assignments = this.#consumer.assignments
    if (!assignments) return false
    return assignments.some((a) => a.topic === topic && a.partitions.includes(partition))
  }

  #accept(message: Message<Buffer, Buffer, Buffer, Buffer>): void {
    if (this.#abort.signal.aborted) return
    // fetched before a rebalance gave the partition to another member (the stream still holds such
    // messages): its new owner reads it from the committed offset. Queued, it would count against the
    // buffer behind a handler that may still be running, and could keep fetching paused.
    if (!this.#owns(message.topic, message.partition)) return
    const key = `${message.topic}:${message.partition}`
    let lane = this.#lanes.get(key)
    if (lane === undefined) {
      lane = { queue: [], next: 0, running: undefined, done: -1n }
      this.#lanes.set(key, lane)
    }
    lane.queue.push(message)
    this.#buffered++
    if (!this.#paused && this.#buffered >= this.#maxBuffered()) {
      this.#paused = true
      this.#stream?.pause()
    }
    this.#kick(lane)
  }

  #release(count: number): void {
    this.#buffered -= count
    if (this.#paused && this.#buffered <= this.#maxBuffered() / 2 && !this.#abort.signal.aborted) {
      this.#paused = false
      this.#stream?.resume()
    }
  }

  /**
   * Events fetched and waiting, above which fetching pauses: maxBufferedEvents, and for batch handlers
   * at least a full batch per partition, so that the bound does not cut every delivery short (with 3
   * partitions and the defaults, the reducer's deliveries averaged a third of its batch size, each
   * paying a transaction).
   */
  #maxBuffered(): number {
    const subscribe = this.#subscribe
    const bound = this.#options.maxBufferedEvents
    if (!isBatch(subscribe)) return bound
    return Math.max(bound, Math.max(1, subscribe.maxBatchSize) * Math.max(1, this.#lanes.size))
  }

  /**
   * Forgets what the lane holds. Released like taken events: when a rebalance drops the queues that
   * filled the buffer, fetching must resume, or the partitions this member keeps would never be read
   * again (the lanes left are empty, so no take would ever release the pause).
   */
  #drop(lane: Lane): void {
    const count = lane.queue.length - lane.next
    lane.queue = []
    lane.next = 0
    this.#release(count)
  }

  /**
   * Starts the lane's runner unless one is going. A batch runner starts after the messages being
   * emitted now: the stream hands a fetch response over one message at a time, in one go, and a
   * runner started on the first would deliver it alone (a transaction of one event at the head of
   * every burst, per partition, before the batch with the rest).
   */
  #kick(lane: Lane): void {
    if (lane.running !== undefined || lane.next === lane.queue.length || this.#abort.signal.aborted) return
    // #run may finish synchronously (every queued message a skipped duplicate): the reset below runs
    // as a microtask, after this assignment, so a finished runner never stays recorded as going
    const running = isBatch(this.#subscribe)
      ? new Promise<void>((resolve) => setImmediate(resolve)).then(() => this.#run(lane))
      : this.#run(lane)
    lane.running = running
    running
      .catch((error: unknown) => {
        this.#options.logger.error(
          { err: describe(error), group: this.#subscribe.groupId },
          'kafka: lane failed',
        )
      })
      .finally(() => {
        if (lane.running === running) lane.running = undefined
        this.#kick(lane)
      })
  }

  async #run(lane: Lane): Promise<void> {
    const subscribe = this.#subscribe
    if (isBatch(subscribe)) return this.#runBatches(lane, subscribe)
    while (lane.next < lane.queue.length && !this.#abort.signal.aborted) {
      const message = this.#take(lane)
      if (message === undefined) continue
      if (!(await this.#process(message, subscribe))) break
      this.#done(lane, message)
    }
  }

  /** The lane's next message, or undefined when it is a duplicate or no longer this member's. */
  #take(lane: Lane): Message<Buffer, Buffer, Buffer, Buffer> | undefined {
    const message = lane.queue[lane.next++]!
    if (lane.next === lane.queue.length) {
      lane.queue = []
      lane.next = 0
    } else if (lane.next >= 1024) {
      lane.queue = lane.queue.slice(lane.next)
      lane.next = 0
    }
    this.#release(1)
    if (message.offset <= lane.done) return undefined
    if (!this.#owns(message.topic, message.partition)) return undefined
    return message
  }

  #done(lane: Lane, message: Message<Buffer, Buffer, Buffer, Buffer>): void {
    lane.done = message.offset
    this.#committer.mark(message.topic, message.partition, message.offset + 1n, message.leaderEpoch)
  }

  /**
   * subscribeBatch: takes what the lane holds (up to maxBatchSize valid envelopes in a row) and
   * delivers it as one batch; an invalid envelope closes the batch before it and is dead-lettered.
   */
  async #runBatches(lane: Lane, subscribe: BatchSubscribeOptions): Promise<void> {
    const max = Math.max(1, subscribe.maxBatchSize)
    while (lane.next < lane.queue.length && !this.#abort.signal.aborted) {
      const batch: Pending[] = []
      let invalid: { message: Message<Buffer, Buffer, Buffer, Buffer>; reason: string } | undefined
      while (batch.length < max && lane.next < lane.queue.length) {
        const message = this.#take(lane)
        if (message === undefined) continue
        const rawKey = message.key && message.key.length > 0 ? message.key.toString('utf8') : null
        try {
          const envelope = parseEnvelope(message.value ?? empty)
          batch.push({
            message,
            event: {
              topic: message.topic,
              partition: message.partition,
              offset: message.offset,
              key: rawKey ?? envelopeKey(envelope),
              envelope,
            },
          })
        } catch (error) {
          invalid = { message, reason: failureReason(error) }
          break
        }
      }
      if (batch.length > 0 && !(await this.#processBatch(lane, batch, subscribe))) return
      if (invalid !== undefined) {
        const { message, reason } = invalid
        const rawKey = message.key && message.key.length > 0 ? message.key.toString('utf8') : null
        if (!(await this.#deadLetter(message, message.value ?? empty, rawKey, undefined, reason, 0))) return
        this.#done(lane, message)
      }
    }
  }

  /** Delivers one batch; false when stopping cut it short (the rest stays uncommitted). */
  async #processBatch(lane: Lane, batch: Pending[], subscribe: BatchSubscribeOptions): Promise<boolean> {
    const outcomes: DeliveryOutcome[] = await deliverBatchWithRetries(
      batch.map((p) => p.event),
      subscribe.handler,
      this.#policy,
      this.#abort.signal,
    )
    for (let i = 0; i < outcomes.length; i++) {
      const outcome = outcomes[i]!
      const { message, event } = batch[i]!
      if (outcome.status === 'aborted') return false
      if (outcome.status === 'failed') {
        const bytes = message.value ?? empty
        const rawKey = message.key && message.key.length > 0 ? message.key.toString('utf8') : null
        if (
          !(await this.#deadLetter(message, bytes, rawKey, event.envelope, outcome.reason, outcome.attempts))
        )
          return false
      }
      this.#done(lane, message)
    }
    return outcomes.length === batch.length
  }

  /** True when the message was handled or dead-lettered, false when stopping cut it short. */
  async #process(
    message: Message<Buffer, Buffer, Buffer, Buffer>,
    subscribe: SubscribeOptions,
  ): Promise<boolean> {
    const bytes = message.value ?? empty
    const rawKey = message.key && message.key.length > 0 ? message.key.toString('utf8') : null
    let envelope: OnexEnvelopeV1
    try {
      envelope = parseEnvelope(bytes)
    } catch (error) {
      return this.#deadLetter(message, bytes, rawKey, undefined, failureReason(error), 0)
    }
    const outcome = await deliverWithRetries(
      {
        topic: message.topic,
        partition: message.partition,
        offset: message.offset,
        key: rawKey ?? envelopeKey(envelope),
        envelope,
      },
      subscribe.handler,
      this.#policy,
      this.#abort.signal,
    )
    if (outcome.status === 'handled') return true
    if (outcome.status === 'aborted') return false
    return this.#deadLetter(message, bytes, rawKey, envelope, outcome.reason, outcome.attempts)
  }

  async #deadLetter(
    message: Message<Buffer, Buffer, Buffer, Buffer>,
    bytes: Buffer,
    key: string | null,
    envelope: OnexEnvelopeV1 | undefined,
    reason: string,
    attempts: number,
  ): Promise<boolean> {
    this.#options.logger.warn(
      {
        topic: message.topic,
        partition: message.partition,
        offset: message.offset.toString(),
        event_id: envelope?.event_id,
        reason,
        attempts,
        group: this.#subscribe.groupId,
      },
      'kafka: event dead-lettered',
    )
    return this.#deps.deadLetter(
      { topic: message.topic, key, bytes, envelope, reason, attempts },
      this.#abort.signal,
    )
  }
}

function within<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  return Promise.race([
    promise,
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`not done within ${ms} ms`)), ms)
    }),
  ]).finally(() => clearTimeout(timer))
}
