import { randomUUID } from 'node:crypto'
import { createEnvelope, type EnvelopeSource, type OnexEnvelopeV1 } from '../../core/events/envelope.ts'
import { dlqTopicName } from '../../core/events/topics.ts'
import type { DeadLetter } from '../../ports/event-bus.ts'

/** The event type of every envelope on a `.dlq` topic. */
export const DEAD_LETTER_EVENT_TYPE = 'DEAD_LETTER'

export interface FailedMessage {
  topic: string
  key: string | null
  /** The message as it was on the bus. */
  bytes: Uint8Array
  /** The envelope, when the bytes were one (its ids become the dead letter's correlation and cause). */
  envelope?: OnexEnvelopeV1 | undefined
  reason: string
  /** Handler attempts made: `maxAttempts` after a failing handler, 0 for a message that was never an envelope. */
  attempts: number
}

const text = new TextDecoder('utf-8')

/**
 * The DEAD_LETTER envelope for a message no handler could take, and the topic it goes to
 * (`<topic>.dlq`). Its payload is the port's DeadLetter (DESIGN section 4); it keeps the original's
 * correlation (or its event id), is caused by the original event, and keeps the original key, so a
 * dead letter sits beside its siblings.
 */
export function deadLetterFor(
  source: EnvelopeSource,
  failed: FailedMessage,
  now = new Date(),
): { topic: string; envelope: OnexEnvelopeV1 } {
  const payload: DeadLetter = {
    original_topic: failed.topic,
    original_key: failed.key,
    original_data: text.decode(failed.bytes),
    failure_reason: failed.reason,
    failure_timestamp: now.toISOString(),
    retry_attempts: failed.attempts,
  }
  const original = failed.envelope
  const envelope = createEnvelope(
    source,
    {
      eventType: DEAD_LETTER_EVENT_TYPE,
      payload: { ...payload },
      correlationId: original ? (original.correlation_id ?? original.event_id) : undefined,
      causationId: original?.event_id,
      partitionKey: failed.key ? failed.key : undefined,
    },
    { eventId: randomUUID(), now },
  )
  return { topic: dlqTopicName(failed.topic), envelope }
}
