import { randomUUID } from 'node:crypto'
import type { PublishedTopics } from '../../core/contracts/parse.ts'
import { asCorrelationId, createEnvelope, type EnvelopeSource } from '../../core/events/envelope.ts'
import type { Environment } from '../../core/events/topics.ts'
import type { Clock } from '../../ports/clock.ts'
import type { OutgoingMessage } from '../../ports/event-bus.ts'
import type { StoredStamp } from './store.ts'

/** Who asked: what every event of one request carries. */
export interface EventContext {
  /** The request's correlation id; kept when it is a uuid. */
  correlationId?: string | undefined
  /** Goes to `metadata.session_id`, where the event tracer groups sessions. */
  sessionId?: string | undefined
}

export interface StampingEventSettings {
  source: EnvelopeSource
  environment: Environment
  /** The contract's published events (a contract without one of ours fails here, at start). */
  topics: PublishedTopics
}

type StampingEvent =
  | 'METADATA_STAMP_CREATED'
  | 'METADATA_BATCH_PROCESSED'
  | 'METADATA_STAMP_VALIDATED'
  | 'BLAKE3_HASH_GENERATED'

/**
 * The stamping node's events (its contract's published events), as outbox messages. Stamp events are
 * keyed by the content hash, so that every event about one content keeps its order on the bus.
 */
export class StampingEvents {
  #source: EnvelopeSource
  #clock: Clock
  #topics: Record<StampingEvent, string>

  constructor(settings: StampingEventSettings, clock: Clock) {
    this.#source = settings.source
    this.#clock = clock
    this.#topics = settings.topics.topicNames(
      [
        'METADATA_STAMP_CREATED',
        'METADATA_BATCH_PROCESSED',
        'METADATA_STAMP_VALIDATED',
        'BLAKE3_HASH_GENERATED',
      ],
      settings.environment,
    )
  }

  stampCreated(record: StoredStamp, created: boolean, context: EventContext): OutgoingMessage {
    return this.#message('METADATA_STAMP_CREATED', context, record.file_hash, {
      file_hash: record.file_hash,
      namespace: record.namespace,
      stamp_type: record.stamp_type,
      file_path: record.file_path,
      content_type: record.content_type,
      file_size: record.file_size,
      created,
      uid: record.stamp_data['uid'],
    })
  }

  batchProcessed(
    counts: { total: number; succeeded: number; failed: number },
    context: EventContext,
  ): OutgoingMessage {
    return this.#message('METADATA_BATCH_PROCESSED', context, undefined, {
      ...counts,
    })
  }

  stampValidated(
    report: { valid: boolean; stamped: boolean; currentHash: string; stamps: readonly unknown[] },
    context: EventContext,
  ): OutgoingMessage {
    return this.#message('METADATA_STAMP_VALIDATED', context, report.currentHash, {
      valid: report.valid,
      stamped: report.stamped,
      current_hash: report.currentHash,
      stamp_count: report.stamps.length,
    })
  }

  hashGenerated(
    result: { fileHash: string; sizeBytes: number },
    backend: string,
    context: EventContext,
  ): OutgoingMessage {
    return this.#message('BLAKE3_HASH_GENERATED', context, result.fileHash, {
      file_hash: result.fileHash,
      size_bytes: result.sizeBytes,
      backend,
    })
  }

  #message(
    eventType: StampingEvent,
    context: EventContext,
    partitionKey: string | undefined,
    payload: Record<string, unknown>,
  ): OutgoingMessage {
    const envelope = createEnvelope(
      this.#source,
      {
        eventType,
        payload,
        correlationId: asCorrelationId(context.correlationId),
        partitionKey,
        metadata: context.sessionId ? { session_id: context.sessionId } : {},
      },
      { eventId: randomUUID(), now: this.#clock.now() },
    )
    return { topic: this.#topics[eventType], envelope }
  }
}
