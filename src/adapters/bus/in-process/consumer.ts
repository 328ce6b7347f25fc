import { setTimeout as sleep } from 'node:timers/promises'
import { envelopeKey, type OnexEnvelopeV1 } from '../../../core/events/envelope.ts'
import type {
  BatchSubscribeOptions,
  DeliveredEvent,
  SubscribeOptions,
  Subscription,
} from '../../../ports/event-bus.ts'
import { type FailedMessage, failureReason } from '../dead-letter.ts'
import { deliverBatchWithRetries } from '../delivery.ts'
import type { Entry, PartitionLog, PartitionReader } from './partition-log.ts'

/** What consumers need from the bus. */
export interface ConsumerHost {
  /** The partitions of `topic`, creating it if it is unknown. */
  partitions(topic: string): readonly PartitionLog[]
  /** Parses a raw entry once: sets `entry.envelope` or `entry.invalid`. */
  decode(entry: Entry): void
  deadLetter(failed: FailedMessage): void
}

/** Deliveries in a row before a partition lets timers and I/O run. */
const YIELD_EVERY = 1024

/**
 * A consumer group: its members (live subscriptions) and, per partition of every topic it ever read,
 * a worker holding the group's committed offset. Partitions are dealt round-robin to the members on
 * every join and leave; a worker keeps its offset while nobody owns it, so a later member resumes.
 */
export class Group {
  readonly id: string
  readonly #host: ConsumerHost
  readonly #members: Member[] = []
  readonly #workers = new Map<string, PartitionWorker[]>()

  constructor(id: string, host: ConsumerHost) {
    this.id = id
    this.#host = host
  }

  join(options: SubscribeOptions | BatchSubscribeOptions): Member {
    const member = new Member(this, options)
    for (const topic of member.topics) {
      // where a group starts reading a topic it has never read: its first member decides
      if (!this.#workers.has(topic)) this.#addWorkers(topic, options.fromBeginning ?? true)
    }
    this.#members.push(member)
    this.rebalance()
    return member
  }

  /** Removes `member`, deals its partitions to the others, and waits for its handlers in flight. */
  async leave(member: Member): Promise<void> {
    const at = this.#members.indexOf(member)
    if (at >= 0) this.#members.splice(at, 1)
    this.rebalance()
    const settling: Promise<void>[] = []
    for (const workers of this.#workers.values()) for (const w of workers) settling.push(w.settled(member))
    await Promise.all(settling)
  }

  reads(topic: string): boolean {
    return this.#workers.has(topic)
  }

  /** Deals every partition of the group's topics round-robin among the members that subscribe to it. */
  rebalance(): void {
    let turn = 0
    for (const topic of [...this.#workers.keys()].sort()) {
      this.#addWorkers(topic, true)
      const candidates = this.#members.filter((m) => m.topics.has(topic))
      for (const worker of this.#workers.get(topic)!) {
        worker.assign(candidates.length === 0 ? undefined : candidates[turn++ % candidates.length])
      }
    }
  }

  /** Workers for the partitions of `topic` the group has none for yet (all of them for a new topic). */
  #addWorkers(topic: string, fromBeginning: boolean): void {
    const logs = this.#host.partitions(topic)
    const workers = this.#workers.get(topic) ?? []
    this.#workers.set(topic, workers)
    // a partition added after the group started reading the topic is read from its beginning
    const isNewTopic = workers.length === 0
    for (let p = workers.length; p < logs.length; p++) {
      const log = logs[p]!
      const position = isNewTopic && !fromBeginning ? log.end : log.start
      workers.push(new PartitionWorker(this, topic, log, position, this.#host))
    }
  }
}

/** One subscription: a member of its group, with its handler and retry policy. */
export class Member implements Subscription {
  readonly group: Group
  readonly topics: ReadonlySet<string>
  readonly handler: (event: DeliveredEvent) => Promise<void>
  /** subscribeBatch: the handler of batches and their largest size. */
  readonly batch: { handler: BatchSubscribeOptions['handler']; maxSize: number } | undefined
  readonly maxAttempts: number
  readonly retryBackoffMs: number
  #stopping: Promise<void> | undefined

  constructor(group: Group, options: SubscribeOptions | BatchSubscribeOptions) {
    this.group = group
    this.topics = new Set(options.topics)
    if ('maxBatchSize' in options) {
      const batch = { handler: options.handler, maxSize: Math.max(1, options.maxBatchSize) }
      this.batch = batch
      this.handler = (event) => batch.handler([event])
    } else {
      this.batch = undefined
      this.handler = options.handler
    }
    this.maxAttempts = options.maxAttempts ?? 5
    this.retryBackoffMs = options.retryBackoffMs ?? 100
  }

  /** Idempotent. A handler may call it, but must not await it: it waits for that very handler. */
  stop(): Promise<void> {
    this.#stopping ??= this.group.leave(this)
    return this.#stopping
  }
}

/**
 * Reads one partition for one group, in order, with the owning member's handler: each message is
 * handled (retried with doubling backoff) or dead-lettered, then its offset is committed. Runs as a
 * plain async loop: while messages are there it goes from one to the next without timers, letting the
 * event loop in every YIELD_EVERY messages; when it has caught up it waits for the log to wake it.
 */
class PartitionWorker implements PartitionReader {
  position: number
  readonly #group: Group
  readonly #topic: string
  readonly #log: PartitionLog
  readonly #host: ConsumerHost
  #owner: Member | undefined
  #running = false
  #wakeUp: (() => void) | undefined
  /** The member whose handler is running (or backing off) now. */
  #busy: Member | undefined
  #settledWaiters: Array<() => void> = []
  #backoff: AbortController | undefined

  constructor(group: Group, topic: string, log: PartitionLog, position: number, host: ConsumerHost) {
    this.#group = group
    this.#topic = topic
    this.#log = log
    this.#host = host
    this.position = position
    log.readers.add(this)
  }

  get active(): boolean {
    return this.#owner !== undefined
  }

  assign(member: Member | undefined): void {
    if (member === this.#owner) return
    this.#owner = member
    // a publisher waiting for this group to consume no longer waits for a reader nobody runs
    if (member === undefined) this.#log.settle()
    // a retry in its backoff is abandoned, uncommitted: the new owner gets the message afresh
    this.#backoff?.abort()
    if (member !== undefined && !this.#running) {
      this.#running = true
      // on the next turn, so that no handler runs before subscribe() has returned its Subscription
      setImmediate(() => void this.#run())
    } else {
      this.wake()
    }
  }

  wake(): void {
    const wakeUp = this.#wakeUp
    if (wakeUp === undefined) return
    this.#wakeUp = undefined
    wakeUp()
  }

  /** Resolves once `member` has no handler running here (the offset of one that finished is committed). */
  settled(member: Member): Promise<void> {
    if (this.#busy !== member) return Promise.resolve()
    return new Promise((resolve) => this.#settledWaiters.push(resolve))
  }

  async #run(): Promise<void> {
    const log = this.#log
    let inARow = 0
    try {
      for (;;) {
        const member = this.#owner
        if (member === undefined) return
        if (this.position < log.start) this.position = log.start
        if (this.position >= log.end) {
          inARow = 0
          await new Promise<void>((resolve) => {
            this.#wakeUp = resolve
          })
          continue
        }
        if (++inARow >= YIELD_EVERY) {
          inARow = 0
          await new Promise(setImmediate)
          continue
        }
        const offset = this.position
        this.#busy = member
        if (member.batch === undefined) {
          const done = await this.#handle(member, log.at(offset)!, offset)
          if (done) this.position = offset + 1
        } else {
          this.position = await this.#handleBatch(member, member.batch, offset)
        }
        this.#busy = undefined
        log.settle()
        if (this.#settledWaiters.length > 0) {
          for (const resolve of this.#settledWaiters.splice(0)) resolve()
        }
      }
    } finally {
      this.#running = false
    }
  }

  /**
   * subscribeBatch: delivers the valid envelopes from `offset` on (up to the batch size, stopping
   * before an invalid one, which is dead-lettered alone) and returns the next position: past what was
   * handled or dead-lettered, at the first event a stop or a change of owner left uncommitted.
   */
  async #handleBatch(member: Member, batch: NonNullable<Member['batch']>, offset: number): Promise<number> {
    const log = this.#log
    const first = log.at(offset)!
    if (first.envelope === undefined && first.invalid === undefined) this.#host.decode(first)
    if (first.envelope === undefined) {
      this.#deadLetter(first, offset, first.invalid!, undefined, 0)
      return offset + 1
    }
    const events: Array<Omit<DeliveredEvent, 'attempt'>> = []
    const end = Math.min(log.end, offset + batch.maxSize)

    for (let o = offset; o < end; o++) {
      const entry = log.at(o)!
      if (entry.envelope === undefined && entry.invalid === undefined) this.#host.decode(entry)
      if (entry.envelope === undefined) break
      events.push(this.#event(entry, entry.envelope, o, 1))
    }
    // assign() aborts it when the member stops or loses the partition: retries end, the rest stays
    // uncommitted for the next owner
    const abort = new AbortController()
    this.#backoff = abort
    const outcomes = await deliverBatchWithRetries(
      events,
      batch.handler,
      { maxAttempts: member.maxAttempts, backoffMs: member.retryBackoffMs },
      abort.signal,
    ).finally(() => {
      if (this.#backoff === abort) this.#backoff = undefined
    })
    let next = offset
    for (let i = 0; i < outcomes.length; i++) {
      const outcome = outcomes[i]!
      if (outcome.status === 'aborted') break
      if (outcome.status === 'failed') {
        const entry = log.at(offset + i)!
        this.#deadLetter(entry, offset + i, outcome.reason, entry.envelope, outcome.attempts)
      }
      next = offset + i + 1
    }
    return next
  }

  /** Handles one message; true when it may be committed (handled or dead-lettered). */
  async #handle(member: Member, entry: Entry, offset: number): Promise<boolean> {
    if (entry.envelope === undefined && entry.invalid === undefined) this.#host.decode(entry)
    const envelope = entry.envelope
    if (envelope === undefined) {
      this.#deadLetter(entry, offset, entry.invalid!, undefined, 0)
      return true
    }
    try {
      await member.handler(this.#event(entry, envelope, offset, 1))
      return true
    } catch (err) {
      return this.#retry(member, entry, envelope, offset, err)
    }
  }

  async #retry(
    member: Member,
    entry: Entry,
    envelope: OnexEnvelopeV1,
    offset: number,
    firstError: unknown,
  ): Promise<boolean> {
    let error = firstError
    for (let attempt = 2; attempt <= member.maxAttempts; attempt++) {
      // the member stopped (or lost the partition) while its handler ran: leave the message uncommitted
      if (this.#owner !== member) return false
      if (!(await this.#pause(member.retryBackoffMs * 2 ** (attempt - 2)))) return false
      try {
        await member.handler(this.#event(entry, envelope, offset, attempt))
        return true
      } catch (err) {
        error = err
      }
    }
    this.#deadLetter(entry, offset, failureReason(error), envelope, member.maxAttempts)
    return true
  }

  /** Waits `ms`; false when the partition changed owner meanwhile. */
  async #pause(ms: number): Promise<boolean> {
    const backoff = new AbortController()
    this.#backoff = backoff
    try {
      await sleep(ms, undefined, { signal: backoff.signal })
      return true
    } catch {
      return false
    } finally {
      this.#backoff = undefined
    }
  }

  #event(entry: Entry, envelope: OnexEnvelopeV1, offset: number, attempt: number): DeliveredEvent {
    return {
      topic: this.#topic,
      partition: this.#log.index,
      offset: BigInt(offset),
      key: entry.key ?? envelopeKey(envelope),
      envelope,
      attempt,
    }
  }

  #deadLetter(
    entry: Entry,
    offset: number,
    reason: string,
    envelope: OnexEnvelopeV1 | undefined,
    attempts: number,
  ): void {
    this.#host.deadLetter({
      topic: this.#topic,
      partition: this.#log.index,
      offset: BigInt(offset),
      key: entry.key,
      value: entry.value ?? JSON.stringify(envelope),
      envelope,
      groupId: this.#group.id,
      reason,
      attempts,
    })
  }
}
