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
 * tried again with backoff (50 ms doubling to 1 s) until `publishTimeoutMs` has passed, then the
 * publish fails with UnavailableError. A failed send makes the client start a new producer id, so a
 * retry never trips over its predecessor's sequence numbers; an attempt that timed out on our side may
 * still have been written, which at-least-once delivery allows.
 */
export class KafkaPublisher {
  readonly #producer: Producer
  readonly #timeoutMs: number

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
      await sleep(Math.max(0, Math.min(delay, deadline - Date.now())))
      delay = Math.min(delay * 2, 1_000)
    }
    throw new UnavailableError(
      `${what}: Kafka did not acknowledge within ${this.#timeoutMs} ms (${describe(lastError)})`,
      { cause: lastError },
    )
  }

  close(): Promise<void> {
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
