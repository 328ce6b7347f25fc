import { setTimeout as sleep } from 'node:timers/promises'
import { compatibilityPartitioner, ProduceAcks, Producer } from '@platformatic/kafka'
import { type OnexError, UnavailableError } from '../../../core/errors.ts'
import { canRetry, describe, toBusError } from './errors.ts'
import { kafkaBusDefaults, type ResolvedKafkaBusOptions } from './options.ts'

export interface OutgoingRecord {
  topic: string
  key: Buffer | undefined
  value: Buffer
}

/** Per-record overhead in a record batch (lengths, varints, headers count), roughly. */
const RECORD_OVERHEAD = 32

/** One publish, publishBatch or dead letter: settles when all its records are acknowledged, or fails. */
interface Call {
  what: string
  remaining: number
  settled: boolean
  resolve(): void
  reject(error: OnexError): void
}

interface Entry {
  record: OutgoingRecord
  bytes: number
  call: Call
}

/**
 * One idempotent producer (acks=all) shared by every publish of the bus, behind a queue.
 *
 * Requests: one produce request in flight at a time, carrying whatever was queued meanwhile, up to
 * ~900 KB (the broker refuses record batches over 1 MiB by default). Concurrent publishes thus share
 * requests instead of queueing one request each behind the idempotent producer's single in-flight
 * slot, and the queue keeps their order: events with the same key keep the order of their publishes.
 * Keys go through Java's murmur2 partitioner, so a key lands on the same partition whichever client
 * (Java, Python, this one) wrote it.
 *
 * Outages: a request that fails with a retriable error (broker unreachable, restarting, not leader yet)
 * is sent again (never while an earlier copy may still be in flight), and each publish fails with
 * UnavailableError once its own `publishTimeoutMs` has passed, wherever its records are. While the broker cannot be reached, a probe (a metadata request, 100 ms doubling to 1 s)
 * knocks until it answers; other retriable answers back off (50 ms doubling to 1 s). A failed request
 * makes the client start a new producer id, so a retry never trips over its predecessor's sequence
 * numbers; a request that timed out on our side may still have been written, which at-least-once
 * delivery allows. A request refused for good (a topic that does not exist) is split by topic, so that
 * only the publishes to the bad topic fail.
 */
export class KafkaPublisher {
  readonly #producer: Producer
  readonly #timeoutMs: number
  readonly #queue: Entry[] = []
  #head = 0
  #pumping = false
  #closed = false
  /** Why the last request failed, for the message of a publish that times out. */
  #lastError: unknown

  constructor(options: ResolvedKafkaBusOptions) {
    this.#timeoutMs = options.publishTimeoutMs
    this.#producer = new Producer({
      clientId: `${options.clientId}-producer`,
      bootstrapBrokers: [...options.brokers],
      idempotent: true,
      acks: ProduceAcks.ALL,
      partitioner: compatibilityPartitioner,
      // the client's own retries stay short: #sendBatch retries, each publish has its deadline
      retries: 2,
      retryDelay: 100,
      connectTimeout: Math.min(options.publishTimeoutMs, 2_000),
      requestTimeout: Math.min(options.publishTimeoutMs, 15_000),
      timeout: Math.min(options.publishTimeoutMs, 10_000),
    })
    this.#producer.on('error', (error: Error) => {
      options.logger.warn({ err: describe(error) }, 'kafka producer error')
    })
  }

  /** Queues `records` in order; resolves when all are acknowledged. */
  send(records: readonly OutgoingRecord[], what: string): Promise<void> {
    if (records.length === 0) return Promise.resolve()
    if (this.#closed) return Promise.reject(new UnavailableError(`${what}: the Kafka bus is closed`))
    const done = Promise.withResolvers<void>()
    // the deadline is the call's own: it fails then, whatever request its records are in
    const timer = setTimeout(() => {
      call.reject(
        new UnavailableError(
          `${what}: Kafka did not acknowledge within ${this.#timeoutMs} ms (${describe(this.#lastError ?? 'no answer')})`,
          { cause: this.#lastError },
        ),
      )
    }, this.#timeoutMs)
    const call: Call = {
      what,
      remaining: records.length,
      settled: false,
      resolve: () => {
        if (call.settled) return
        call.settled = true
        clearTimeout(timer)
        done.resolve()
      },
      reject: (error) => {
        if (call.settled) return
        call.settled = true
        clearTimeout(timer)
        done.reject(error)
      },
    }
    for (const record of records)
      this.#queue.push({
        record,
        call,
        bytes: record.value.length + (record.key?.length ?? 0) + RECORD_OVERHEAD,
      })
    void this.#pump()
    return done.promise
  }

  async #pump(): Promise<void> {
    if (this.#pumping) return
    this.#pumping = true
    try {
      while (this.#head < this.#queue.length) {
        const batch: Entry[] = []
        let bytes = 0
        while (this.#head < this.#queue.length) {
          const entry = this.#queue[this.#head]!
          if (batch.length > 0 && bytes + entry.bytes > kafkaBusDefaults.maxRequestBytes) break
          this.#head++
          // what is left of a publish that already failed is not sent
          if (entry.call.settled) continue
          batch.push(entry)
          bytes += entry.bytes
        }
        if (this.#head > 4096 && this.#head * 2 > this.#queue.length) {
          this.#queue.splice(0, this.#head)
          this.#head = 0
        }
        if (batch.length > 0) await this.#sendBatch(batch)
      }
    } finally {
      this.#pumping = false
    }
  }

  /**
   * Sends `batch` until it is acknowledged, refused for good, or every publish in it has failed on its
   * deadline. A request is never sent again while an earlier copy may still be in flight: the client
   * answers every request (its own timeouts and retries are short), so each attempt is awaited.
   */
  async #sendBatch(batch: Entry[]): Promise<void> {
    let delay = 50
    for (;;) {
      batch = batch.filter((e) => !e.call.settled)
      if (batch.length === 0) return
      if (this.#closed) {
        for (const e of batch) e.call.reject(new UnavailableError(`${e.call.what}: the Kafka bus closed`))
        return
      }
      try {
        await this.#producer.send({ messages: batch.map((e) => e.record) })
        this.#lastError = undefined
        for (const e of batch) if (--e.call.remaining === 0) e.call.resolve()
        return
      } catch (error) {
        if (!canRetry(error)) {
          await this.#refused(batch, error)
          return
        }
        this.#lastError = error
      }
      // the broker away: wait for it to answer again; it answered: back off
      if (!(await this.#reachable())) {
        await this.#waitUntilReachable(batch)
        continue
      }
      await sleep(delay)
      delay = Math.min(delay * 2, 1_000)
    }
  }

  /** A request refused for good: per topic, so that only the publishes to the topic at fault fail. */
  async #refused(batch: Entry[], error: unknown): Promise<void> {
    const byTopic = new Map<string, Entry[]>()
    for (const e of batch) {
      const list = byTopic.get(e.record.topic) ?? []
      list.push(e)
      byTopic.set(e.record.topic, list)
    }
    if (byTopic.size === 1) {
      for (const e of batch) if (!e.call.settled) e.call.reject(toBusError(error, e.call.what))
      return
    }
    for (const entries of byTopic.values()) await this.#sendBatch(entries)
  }

  /** Probes (100 ms doubling to 1 s) until the broker answers, the bus closes or `batch` has all failed. */
  async #waitUntilReachable(batch: Entry[]): Promise<void> {
    let delay = 100
    while (!this.#closed && batch.some((e) => !e.call.settled)) {
      await sleep(delay)
      if (await this.#reachable()) return
      delay = Math.min(delay * 2, 1_000)
    }
  }

  async #reachable(): Promise<boolean> {
    try {
      await this.#producer.metadata({ topics: [], forceUpdate: true })
      return true
    } catch {
      return false
    }
  }

  close(): Promise<void> {
    this.#closed = true
    for (let i = this.#head; i < this.#queue.length; i++)
      this.#queue[i]!.call.reject(new UnavailableError(`${this.#queue[i]!.call.what}: the Kafka bus closed`))
    return this.#producer.close()
  }
}
