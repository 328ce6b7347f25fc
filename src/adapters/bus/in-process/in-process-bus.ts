import { randomUUID } from 'node:crypto'
import { InvalidInputError, UnavailableError } from '../../../core/errors.ts'
import {
  createEnvelope,
  type EnvelopeSource,
  envelopeKey,
  type OnexEnvelopeV1,
  parseEnvelope,
} from '../../../core/events/envelope.ts'
import { DLQ_PARTITIONS, isDlqTopic } from '../../../core/events/topics.ts'
import { type Clock, systemClock } from '../../../ports/clock.ts'
import type {
  BatchSubscribeOptions,
  BusHealth,
  EventBus,
  OutgoingMessage,
  PublishOptions,
  SubscribeOptions,
  Subscription,
  TopicSettings,
} from '../../../ports/event-bus.ts'
import { deadLetterMessage, type FailedMessage, failureReason } from '../dead-letter.ts'
import { partitionFor } from '../partition.ts'
import { type ConsumerHost, Group } from './consumer.ts'
import { deepFreeze, frozenJsonCopy } from './frozen-copy.ts'
import { Entry, PartitionLog } from './partition-log.ts'

export interface InProcessBusOptions {
  /**
   * Messages kept per partition once every group has read them: retention is by count in process
   * (the `retentionMs` of topic settings is not applied), for a group that joins later. A stamping
   * event held as a frozen envelope takes about 1 KB of heap, so a full partition at the default holds
   * about 1 MB (a busy topic of 6 partitions at 10,000 held 60 MB, the largest part of a loaded
   * bridge's heap). Older messages are dropped in steps of an eighth of this, so a partition holds up
   * to 1.125 times as many; and a message that a consumer group which ever read the partition has not
   * committed is never dropped, so a group that stopped keeps its backlog in memory until it returns.
   * @default 1_000
   */
  retainPerPartition?: number
  /** Who dead letters come from (`source_*` fields). @default { nodeId: 'in-process-bus', version: '1.0', environment: 'development' } */
  source?: EnvelopeSource
  clock?: Clock
}

interface Topic {
  partitions: PartitionLog[]
  /** Where the next message without a key goes (round-robin). */
  nextUnkeyed: number
}

/**
 * The embedded default EventBus: topics of partitioned in-memory logs in this process, consumer groups
 * with committed offsets, retries and dead letters, with the semantics of the EventBus port (its doc
 * comment is the spec). Nothing survives a restart: it is for a single process, tests and development.
 *
 * - A key goes to partition `murmur2(key) mod partitions` (Kafka's own rule, adapters/bus/partition.ts).
 * - `publish` validates the envelope (InvalidInputError naming the field when it is not one) and keeps
 *   a deep-frozen copy of it, as JSON would carry it, shared by every delivery: nothing is serialised
 *   or parsed on the way (its text is made only for a dead letter), and a handler cannot change what
 *   another group sees. `publishRaw` appends bytes as they are, for tests of bad messages.
 * - A topic nobody created is created on first use with 1 partition; `ensureTopics` creates topics with
 *   their partitions, or adds partitions to one that has fewer.
 * - Each group's partitions are dealt round-robin to its live subscribers, again whenever one joins or
 *   stops; a partition is handled by one subscriber at a time, in order.
 * - `publishBatch(…, { untilConsumed: true })` resolves once every group with a live subscriber on each
 *   event's partition has committed it: the consumers' commits are the only durable copy this bus has,
 *   so the outbox relay keeps a row until then, and a killed process publishes it again at the next
 *   start (consumers deduplicate by event_id).
 */
export class InProcessBus implements EventBus {
  readonly kind = 'in-process'
  readonly #topics = new Map<string, Topic>()
  readonly #groups = new Map<string, Group>()
  readonly #members = new Set<Subscription>()
  readonly #retain: number
  readonly #source: EnvelopeSource
  readonly #clock: Clock
  #closing: Promise<void> | undefined

  constructor(options: InProcessBusOptions = {}) {
    const retain = options.retainPerPartition ?? 1_000
    if (!Number.isSafeInteger(retain) || retain < 1) {
      throw new InvalidInputError('retainPerPartition must be a positive integer', [
        { field: 'retainPerPartition', message: 'must be a positive integer' },
      ])
    }
    this.#retain = retain
    this.#source = options.source ?? { nodeId: 'in-process-bus', version: '1.0', environment: 'development' }
    // a dead letter must never fail to be made: check the source now
    parseEnvelope(createEnvelope(this.#source, { eventType: 'DEAD_LETTER', payload: {} }, probeIds))
    this.#clock = options.clock ?? systemClock
  }

  async ensureTopics(topics: readonly TopicSettings[]): Promise<void> {
    this.#assertOpen()
    for (const { topic, partitions } of topics) {
      if (!Number.isSafeInteger(partitions) || partitions < 1) {
        throw new InvalidInputError(`topic ${topic}: partitions must be a positive integer`, [
          { field: 'partitions', message: 'must be a positive integer' },
        ])
      }
      this.#topic(topic, partitions)
    }
  }

  async publish(topic: string, envelope: OnexEnvelopeV1): Promise<void> {
    this.#assertOpen()
    const parsed = snapshot(envelope)
    this.#append(topic, envelopeKey(parsed), undefined, parsed)
  }

  async publishBatch(messages: readonly OutgoingMessage[], options: PublishOptions = {}): Promise<void> {
    this.#assertOpen()
    // every envelope is checked before any is appended
    const snapshots = messages.map((m) => snapshot(m.envelope))
    // untilConsumed: the last offset appended to each partition, to wait for
    const last = options.untilConsumed ? new Map<PartitionLog, number>() : undefined
    for (let i = 0; i < messages.length; i++) {
      const parsed = snapshots[i]!
      const { log, offset } = this.#append(messages[i]!.topic, envelopeKey(parsed), undefined, parsed)
      last?.set(log, offset)
    }
    if (last) await Promise.all(Array.from(last, ([log, offset]) => log.untilConsumed(offset)))
  }

  /**
   * Appends a message as it is, unchecked: its consumers dead-letter it if it is not an envelope.
   * For tests of malformed input (the Kafka adapter has the same method).
   */
  async publishRaw(topic: string, key: string | null, value: Uint8Array | string): Promise<void> {
    this.#assertOpen()
    this.#append(topic, key, typeof value === 'string' ? value : value.slice(), undefined)
  }

  subscribe(options: SubscribeOptions): Promise<Subscription> {
    return this.#join(options)
  }

  subscribeBatch(options: BatchSubscribeOptions): Promise<Subscription> {
    if (!Number.isSafeInteger(options.maxBatchSize) || options.maxBatchSize < 1) {
      const message = 'must be an integer >= 1'
      throw new InvalidInputError(`invalid subscription: maxBatchSize ${message}`, [
        { field: 'maxBatchSize', message },
      ])
    }
    return this.#join(options)
  }

  async #join(options: SubscribeOptions | BatchSubscribeOptions): Promise<Subscription> {
    this.#assertOpen()
    checkSubscribeOptions(options)
    let group = this.#groups.get(options.groupId)
    if (group === undefined) {
      group = new Group(options.groupId, this.#host)
      this.#groups.set(options.groupId, group)
    }
    const member = group.join(options)
    this.#members.add(member)
    return {
      stop: async () => {
        await member.stop()
        this.#members.delete(member)
      },
    }
  }

  async health(): Promise<BusHealth> {
    if (this.#closing) return { ok: false, latencyMs: 0, error: 'the event bus is closed' }
    return { ok: true, latencyMs: 0 }
  }

  close(): Promise<void> {
    this.#closing ??= Promise.all([...this.#members].map((m) => m.stop())).then(() => undefined)
    return this.#closing
  }

  #assertOpen(): void {
    if (this.#closing) throw new UnavailableError('the event bus is closed')
  }

  /** The topic named `name`, created (1 partition, or `partitions`) or grown to `partitions`. */
  #topic(name: string, partitions?: number): Topic {
    let topic = this.#topics.get(name)
    if (topic === undefined) {
      topic = { partitions: [], nextUnkeyed: 0 }
      this.#topics.set(name, topic)
    }
    const wanted = Math.max(partitions ?? (isDlqTopic(name) ? DLQ_PARTITIONS : 1), topic.partitions.length)
    if (wanted > topic.partitions.length) {
      const grown = topic.partitions.length > 0
      while (topic.partitions.length < wanted) {
        topic.partitions.push(new PartitionLog(topic.partitions.length, this.#retain))
      }
      if (grown) for (const group of this.#groups.values()) if (group.reads(name)) group.rebalance()
    }
    return topic
  }

  #append(
    name: string,
    key: string | null,
    value: string | Uint8Array | undefined,
    parsed: OnexEnvelopeV1 | undefined,
  ): { log: PartitionLog; offset: number } {
    const topic = this.#topic(name)
    const partitions = topic.partitions
    let index: number
    if (partitions.length === 1) index = 0
    else if (key === null) index = topic.nextUnkeyed++ % partitions.length
    else index = partitionFor(key, partitions.length)
    const log = partitions[index]!
    return { log, offset: log.append(new Entry(key, value, parsed)) }
  }

  readonly #host: ConsumerHost = {
    partitions: (topic) => this.#topic(topic).partitions,
    decode: (entry) => {
      try {
        entry.envelope = deepFreeze(parseEnvelope(entry.value!))
      } catch (err) {
        entry.invalid = failureReason(err)
      }
    },
    deadLetter: (failed: FailedMessage) => {
      const { topic, envelope } = deadLetterMessage(failed, this.#source, {
        eventId: randomUUID(),
        now: this.#clock.now(),
      })
      const parsed = snapshot(envelope)
      this.#append(topic, envelopeKey(parsed), undefined, parsed)
    },
  }
}

const probeIds = { eventId: '00000000-0000-4000-8000-000000000000', now: new Date(0) }

export function openInProcessBus(options: InProcessBusOptions = {}): InProcessBus {
  return new InProcessBus(options)
}

/**
 * The envelope checked, as a frozen copy that owes nothing to the caller's objects: what JSON would
 * carry (a Date in the payload becomes its ISO text, undefined fields go), without writing the text.
 */
function snapshot(envelope: OnexEnvelopeV1): OnexEnvelopeV1 {
  let copy: unknown
  try {
    copy = frozenJsonCopy(envelope)
  } catch (err) {
    const reason = `cannot be written as JSON (${(err as Error).message})`
    throw new InvalidInputError(`invalid envelope: ${reason}`, [{ field: 'envelope', message: reason }])
  }
  // parseEnvelope checks the copy, so that what is checked is what travels, and drops unknown fields
  return Object.freeze(parseEnvelope(copy))
}

function checkSubscribeOptions(options: SubscribeOptions | BatchSubscribeOptions): void {
  const issues: Array<{ field: string; message: string }> = []
  if (typeof options.groupId !== 'string' || options.groupId.length === 0) {
    issues.push({ field: 'groupId', message: 'must be a non-empty string' })
  }
  if (options.topics.length === 0) issues.push({ field: 'topics', message: 'must name a topic' })
  const { maxAttempts, retryBackoffMs } = options
  if (maxAttempts !== undefined && (!Number.isSafeInteger(maxAttempts) || maxAttempts < 1)) {
    issues.push({ field: 'maxAttempts', message: 'must be an integer >= 1' })
  }
  if (retryBackoffMs !== undefined && !(retryBackoffMs >= 0)) {
    issues.push({ field: 'retryBackoffMs', message: 'must be >= 0' })
  }
  if (issues.length > 0) {
    throw new InvalidInputError(`invalid subscription: ${issues[0]!.field} ${issues[0]!.message}`, issues)
  }
}
