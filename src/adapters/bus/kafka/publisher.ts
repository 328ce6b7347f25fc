import { setTimeout as sleep } from 'node:timers/promises'
import { compatibilityPartitioner, ProduceAcks, Producer } from '@platformatic/kafka'
import { UnavailableError } from '../../../core/errors.ts'
import { canRetry, describe, toBusError } from './errors.ts'
import { kafkaBusDefaults, type ResolvedKafkaBusOptions } from './options.ts'

export interface OutgoingRecord {
  topic: string
  key: Buffer | undefined
  value: Buffer
}

/** Per-record overhead in a record batch (lengths, varints, headers count), roughly. */
const RECORD_OVERHEAD = 32

/**
 * One idempotent producer (acks=all, one request in flight per broker, so a retry cannot reorder)
 * shared by every publish of the bus. Keys go through Java's murmur2 partitioner, so that a key lands on
 * the same partition whichever client (Java, Python, this one) wrote it.
 *
 * Outages: a send that fails with a retriable error (broker unreachable, restarting, not leader yet) is
 * tried again until `publishTimeoutMs` has passed, then the publish fails with UnavailableError. While
 * the broker cannot be reached, one probe (a metadata request, 100 ms doubling to 1 s) knocks for all
 * waiting publishes, which retry together when it gets through; other retriable answers back off per
 * publish (50 ms doubling to 1 s). A failed send makes the client start a new producer id, so a
 * retry never trips over its predecessor's sequence numbers; an attempt that timed out on our side may
 * still have been written, which at-least-once delivery allows.
 */
export class KafkaPublisher {
  readonly #producer: Producer
  readonly #timeoutMs: number
  /** Set while the broker is unreachable: resolves when the probe reaches it again. */
  #recovered: Promise<void> | undefined
  #checking: Promise<boolean> | undefined
  #closed = false

  constructor(options: ResolvedKafkaBusOptions) {
    this.#timeoutMs = options.publishTimeoutMs
    this.#producer = new Producer({
      clientId: `${options.clientId}-producer`,
      bootstrapBrokers: [...options.brokers],
      idempotent: true,
      acks: ProduceAcks.ALL,
      partitioner: compatibilityPartitioner,
      // the client's own retries stay short: the loop in #sendWithin owns the deadline
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

  /** Sends `records` in order, in as few requests as the size limit allows; resolves when all are acknowledged. */
  async send(records: readonly OutgoingRecord[], what: string): Promise<void> {
    const deadline = Date.now() + this.#timeoutMs
    for (const chunk of chunks(records, kafkaBusDefaults.maxRequestBytes)) {
      await this.#sendWithin(chunk, deadline, what)
    }
  }

  async #sendWithin(records: OutgoingRecord[], deadline: number, what: string): Promise<void> {
    let delay = 50
    let lastError: unknown
    for (;;) {
      const remaining = deadline - Date.now()
      if (remaining <= 0) break
      let timer: NodeJS.Timeout | undefined
      const timedOut = new Promise<'timeout'>((resolve) => {
        timer = setTimeout(() => resolve('timeout'), remaining)
      })
      const sending = this.#producer.send({ messages: records })
      try {
        const outcome = await Promise.race([sending, timedOut])
        if (outcome !== 'timeout') return
        // abandoned: it may still land, or fail, later
        sending.catch(() => undefined)
        lastError = new Error(`no acknowledgement within ${this.#timeoutMs} ms`)
        break
      } catch (error) {
        if (!canRetry(error)) throw toBusError(error, what)
        lastError = error
      } finally {
        clearTimeout(timer)
      }
      // While the broker is away, every waiting publish waits for one probe to get through, instead
      // of each knocking on its own; a failure that is not an outage (the broker answered) backs off.
      if (await this.#outage(deadline)) continue
      await sleep(Math.max(0, Math.min(delay, deadline - Date.now())))
      delay = Math.min(delay * 2, 1_000)
    }
    throw new UnavailableError(
      `${what}: Kafka did not acknowledge within ${this.#timeoutMs} ms (${describe(lastError)})`,
      { cause: lastError },
    )
  }

  /**
   * After a failed send: when the broker cannot be reached, waits (until `deadline` at most) for the
   * single probe loop to reach it again, and returns true; returns false when the broker answers.
   */
  async #outage(deadline: number): Promise<boolean> {
    if (this.#recovered === undefined) {
      // one check for all the publishes that failed at about the same time
      this.#checking ??= this.#reachable().finally(() => {
        this.#checking = undefined
      })
      if (await this.#checking) return false
      if (this.#recovered === undefined) {
        const recovered = Promise.withResolvers<void>()
        this.#recovered = recovered.promise
        void this.#probe().then(() => {
          this.#recovered = undefined
          recovered.resolve()
        })
      }
    }
    const remaining = deadline - Date.now()
    if (remaining <= 0) return true
    let timer: NodeJS.Timeout | undefined
    await Promise.race([
      this.#recovered,
      new Promise((resolve) => {
        timer = setTimeout(resolve, remaining)
      }),
    ])
    clearTimeout(timer)
    return true
  }

  async #probe(): Promise<void> {
    let delay = 100
    while (!this.#closed) {
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
    return this.#producer.close()
  }
}

/** Consecutive slices of `records`, each under `maxBytes` (a record larger than that travels alone). */
function* chunks(records: readonly OutgoingRecord[], maxBytes: number): Generator<OutgoingRecord[]> {
  let chunk: OutgoingRecord[] = []
  let bytes = 0
  for (const record of records) {
    const size = record.value.length + (record.key?.length ?? 0) + RECORD_OVERHEAD
    if (chunk.length > 0 && bytes + size > maxBytes) {
      yield chunk
      chunk = []
      bytes = 0
    }
    chunk.push(record)
    bytes += size
  }
  if (chunk.length > 0) yield chunk
}
