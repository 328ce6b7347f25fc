import { randomUUID } from 'node:crypto'
import { InvalidInputError, isOnexError } from '../../core/errors.ts'
import { createEnvelope, type EnvelopeSource, type OnexEnvelopeV1 } from '../../core/events/envelope.ts'
import { dlqTopicName } from '../../core/events/topics.ts'
import type { DeadLetter } from '../../ports/event-bus.ts'

/** The event type of every message on a `<topic>.dlq` topic. */
export const DEAD_LETTER_EVENT_TYPE = 'DEAD_LETTER'

/** A message a consumer gave up on, and why. Shared by the bus adapters so their dead letters agree. */
export interface FailedMessage {
  topic: string
  /** Where it was read, when the adapter knows (recorded in the dead letter's metadata). */
  partition?: number | undefined
  offset?: bigint | undefined
  key: string | null
  /** The message as it was on the topic. */
  value: string | Uint8Array
  /** The message as an envelope, when it was one. */
  envelope: OnexEnvelopeV1 | undefined
  groupId?: string | undefined
  reason: string
  /** Handler attempts made: 0 when the message was not a valid envelope (no handler saw it). */
  attempts: number
}

const lenient = new TextDecoder('utf-8')

/**
 * The DEAD_LETTER envelope for `failed`, to publish on `<topic>.dlq`. Its payload is exactly the
 * DeadLetter shape; where it came from (group, partition, offset) goes in `metadata`. It keeps the
 * original's correlation id and key, and names the original as its cause.
 */
export function deadLetterMessage(
  failed: FailedMessage,
  source: EnvelopeSource,
  ids: { eventId: string; now: Date },
): { topic: string; envelope: OnexEnvelopeV1 } {
  const original = failed.envelope
  const payload: DeadLetter = {
    original_topic: failed.topic,
    original_key: failed.key,
    original_data: typeof failed.value === 'string' ? failed.value : lenient.decode(failed.value),
    failure_reason: failed.reason,
    failure_timestamp: ids.now.toISOString(),
    retry_attempts: failed.attempts,
  }
  const envelope = createEnvelope(
    { ...source, environment: original?.environment ?? source.environment },
    {
      eventType: DEAD_LETTER_EVENT_TYPE,
      payload: { ...payload },
      correlationId: original ? (original.correlation_id ?? original.event_id) : undefined,
      causationId: original?.event_id,
      partitionKey: failed.key || undefined,
      metadata: {
        ...(failed.groupId === undefined ? {} : { consumer_group: failed.groupId }),
        ...(failed.partition === undefined ? {} : { original_partition: failed.partition }),
        ...(failed.offset === undefined ? {} : { original_offset: failed.offset.toString() }),
      },
    },
    ids,
  )
  return { topic: dlqTopicName(failed.topic), envelope }
}

/**
 * A failure as one line of text: the error code when it has one (else the class), the message, and
 * every field issue of an InvalidInputError after the first (its message names the first).
 */
export function failureReason(err: unknown): string {
  if (err instanceof InvalidInputError && err.issues.length > 1) {
    const more = err.issues.slice(1).map((i) => `${i.field}: ${i.message}`)
    return `${err.code}: ${err.message} (also ${more.join('; ')})`
  }
  if (isOnexError(err)) return `${err.code}: ${err.message}`
  if (err instanceof Error) return `${err.name}: ${err.message}`
  try {
    return `non-error thrown: ${String(err)}`
  } catch {
    return 'non-error thrown, which cannot be printed'
  }
}

/** A failed message as the Kafka adapter holds it: its bytes, without partition bookkeeping. */
export interface FailedBytes {
  topic: string
  key: string | null
  bytes: Uint8Array
  envelope?: OnexEnvelopeV1 | undefined
  reason: string
  attempts: number
}

/** deadLetterMessage for a FailedBytes, with a fresh event id. */
export function deadLetterFor(
  source: EnvelopeSource,
  failed: FailedBytes,
  now = new Date(),
): { topic: string; envelope: OnexEnvelopeV1 } {
  const { bytes, ...rest } = failed
  return deadLetterMessage({ ...rest, value: bytes, envelope: failed.envelope }, source, {
    eventId: randomUUID(),
    now,
  })
}
