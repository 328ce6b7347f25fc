import { setTimeout as sleep } from 'node:timers/promises'
import { Admin } from '@platformatic/kafka'
import { ConfigError, UnavailableError } from '../../../core/errors.ts'
import { envelopeKey, type OnexEnvelopeV1, parseEnvelope } from '../../../core/events/envelope.ts'
import { DLQ_PARTITIONS, DLQ_RETENTION_MS } from '../../../core/events/topics.ts'
import type {
  BatchSubscribeOptions,
  BusHealth,
  EventBus,
  OutgoingMessage,
  SubscribeOptions,
  Subscription,
  TopicSettings,
} from '../../../ports/event-bus.ts'
import { deadLetterFor, type FailedBytes } from '../dead-letter.ts'
import { describe } from './errors.ts'
import { type KafkaBusOptions, resolveKafkaBusOptions } from './options.ts'
import { KafkaPublisher, type OutgoingRecord } from './publisher.ts'
import { KafkaSubscription, type SubscriptionOptions } from './subscription.ts'
import { KafkaTopics } from './topics.ts'

export type { KafkaBusOptions } from './options.ts'

/** The Kafka EventBus, plus what tests and tools need beside the port. */
export interface KafkaBus extends EventBus {
  readonly kind: 'kafka'
  /**
   * Writes `bytes` as they are (no envelope check) under `key`: how tests put a poison or a malformed
   * message on a topic. Same delivery guarantees and outage behaviour as publish.
   */
  publishRaw(topic: string, key: string | null, bytes: Uint8Array | string): Promise<void>
}

/**
 * The EventBus on Apache Kafka (or anything speaking its protocol) through @platformatic/kafka.
 * Opening does not connect: clients connect on first use, so a service can start while Kafka is down and
 * report unhealthy until it answers.
 *
 * - publish / publishBatch: one idempotent producer, acks=all; key = envelopeKey(envelope), value = the
 *   envelope's JSON (checked against the schema first: an invalid envelope never reaches the topic).
 *   Retried through outages for up to `publishTimeoutMs`, then UnavailableError (KafkaPublisher).
 * - subscribe: one consumer per subscription in its group, manual commits after handling, retries with
 *   backoff, then `<topic>.dlq` (KafkaSubscription).
 * - ensureTopics: the admin client creates what is missing (KafkaTopics); dead-letter topics are
 *   created on first use.
 */
export async function openKafkaBus(options: KafkaBusOptions): Promise<KafkaBus> {
  const o = resolveKafkaBusOptions(options)
  if (o.brokers.length === 0 || o.brokers.some((b) => !/^[^:\s]+:\d+$/.test(b)))
    throw new ConfigError('KAFKA_BROKERS', `expected host:port[,host:port...], got '${o.brokers.join(',')}'`)

  const publisher = new KafkaPublisher(o)
  const admin = new Admin({
    clientId: `${o.clientId}-admin`,
    bootstrapBrokers: [...o.brokers],
    retries: 3,
    retryDelay: 250,
    connectTimeout: 2_000,
  })
  // health has its own client, without retries, so that a probe answers within its timeout
  const probe = new Admin({
    clientId: `${o.clientId}-health`,
    bootstrapBrokers: [...o.brokers],
    retries: 0,
    connectTimeout: o.healthTimeoutMs,
    requestTimeout: o.healthTimeoutMs,
  })
  for (const client of [admin, probe]) client.on('error', () => undefined)
  const topics = new KafkaTopics(admin)
  const subscriptions = new Set<KafkaSubscription>()
  const members = new Map<string, number>()
  let closed: Promise<void> | undefined

  const checkOpen = (what: string) => {
    if (closed) throw new UnavailableError(`${what}: the Kafka bus is closed`)
  }

  const record = (topic: string, envelope: OnexEnvelopeV1): OutgoingRecord => {
    const checked = parseEnvelope(envelope)
    // the envelope's JSON (as serializeEnvelope) through Buffer.from, a slice of Node's pool:
    // TextEncoder allocates a buffer of its own per event, about three times the CPU of this step
    return { topic, key: Buffer.from(envelopeKey(checked)), value: Buffer.from(JSON.stringify(checked)) }
  }

  const deadLetter = async (failed: FailedBytes, signal: AbortSignal): Promise<boolean> => {
    const letter = deadLetterFor(o.source, failed)
    let delay = 200
    while (!signal.aborted) {
      try {
        await untilAborted(
          (async () => {
            await topics.ensure([
              { topic: letter.topic, partitions: DLQ_PARTITIONS, retentionMs: DLQ_RETENTION_MS },
            ])
            await publisher.send([record(letter.topic, letter.envelope)], `dead letter to ${letter.topic}`)
          })(),
          signal,
        )
        return !signal.aborted
      } catch (error) {
        if (signal.aborted) return false
        o.logger.warn(
          { err: describe(error), topic: letter.topic },
          'kafka: dead letter not written yet; retrying',
        )
      }
      await sleep(delay, undefined, { signal }).catch(() => undefined)
      delay = Math.min(delay * 2, 5_000)
    }
    return false
  }

  /** A new member of the group: one consumer, handling events one by one or in batches. */
  const join = async (subscribe: SubscriptionOptions): Promise<Subscription> => {
    checkOpen('subscribe')
    const member = (members.get(subscribe.groupId) ?? 0) + 1
    members.set(subscribe.groupId, member)
    const subscription = new KafkaSubscription(subscribe, { options: o, deadLetter, member })
    subscriptions.add(subscription)
    try {
      await subscription.start()
    } catch (error) {
      subscriptions.delete(subscription)
      throw error
    }
    return {
      stop: async () => {
        await subscription.stop()
        subscriptions.delete(subscription)
      },
    }
  }

  const bus: KafkaBus = {
    kind: 'kafka',

    async ensureTopics(settings: readonly TopicSettings[]): Promise<void> {
      checkOpen('ensureTopics')
      await topics.ensure(settings)
    },

    async publish(topic: string, envelope: OnexEnvelopeV1): Promise<void> {
      checkOpen('publish')
      await publisher.send([record(topic, envelope)], `publish to ${topic}`)
    },

    async publishBatch(messages: readonly OutgoingMessage[]): Promise<void> {
      checkOpen('publishBatch')
      if (messages.length === 0) return
      await publisher.send(
        messages.map((m) => record(m.topic, m.envelope)),
        `publishBatch of ${messages.length}`,
      )
    },

    async publishRaw(topic: string, key: string | null, bytes: Uint8Array | string): Promise<void> {
      checkOpen('publishRaw')
      await publisher.send(
        [{ topic, key: key === null ? undefined : Buffer.from(key), value: asBuffer(bytes) }],
        `publishRaw to ${topic}`,
      )
    },

    subscribe(subscribe: SubscribeOptions): Promise<Subscription> {
      return join(subscribe)
    },

    subscribeBatch(subscribe: BatchSubscribeOptions): Promise<Subscription> {
      return join(subscribe)
    },

    async health(): Promise<BusHealth> {
      const started = performance.now()
      const latency = () => Math.round((performance.now() - started) * 100) / 100
      if (closed) return { ok: false, latencyMs: 0, error: 'the Kafka bus is closed' }
      try {
        const metadata = await untilTimeout(
          probe.metadata({ topics: [], forceUpdate: true }),
          o.healthTimeoutMs,
        )
        if (metadata.brokers.size === 0)
          return { ok: false, latencyMs: latency(), error: 'no broker in the metadata' }
        return { ok: true, latencyMs: latency() }
      } catch (error) {
        return { ok: false, latencyMs: latency(), error: describe(error) }
      }
    },

    close(): Promise<void> {
      closed ??= (async () => {
        await Promise.allSettled([...subscriptions].map((s) => s.stop()))
        subscriptions.clear()
        await Promise.allSettled([publisher.close(), admin.close(), probe.close()])
      })()
      return closed
    },
  }
  return bus
}

function asBuffer(bytes: Uint8Array | string): Buffer {
  if (typeof bytes === 'string') return Buffer.from(bytes)
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
}

/** Rejects when `signal` aborts first (the work itself goes on and may still succeed). */
function untilAborted<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  work.catch(() => undefined)
  if (signal.aborted) return Promise.reject(signal.reason)
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason)
    signal.addEventListener('abort', onAbort, { once: true })
    work.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort))
  })
}

function untilTimeout<T>(work: Promise<T>, ms: number): Promise<T> {
  work.catch(() => undefined)
  let timer: NodeJS.Timeout | undefined
  return Promise.race([
    work,
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms)
    }),
  ]).finally(() => clearTimeout(timer))
}
