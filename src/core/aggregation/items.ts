import Type, { type Static } from 'typebox'
import { InvalidInputError } from '../errors.ts'
import type { OnexEnvelopeV1 } from '../events/envelope.ts'
import { compileParser } from '../schema.ts'

/**
 * What the reducer consumes, as TypeBox schemas (the wire contract with the stamping node and the
 * orchestrator) and as the one item shape aggregation works on. Unknown payload fields are kept:
 * `custom` aggregation may group by any of them.
 */

/** The O.N.E. namespace pattern (DESIGN section 4), as the stamping node checks it. */
const namespace = Type.String({ pattern: '^(omninode|onex)\\.[a-zA-Z0-9_.]+$', maxLength: 256 })
const nonNegative = Type.Integer({ minimum: 0 })

/** METADATA_STAMP_CREATED (src/nodes/stamping/events.ts). */
export const StampCreatedPayload = Type.Object({
  file_hash: Type.String({ pattern: '^[0-9a-f]{64}$' }),
  namespace,
  stamp_type: Type.String({ minLength: 1 }),
  file_path: Type.Union([Type.String(), Type.Null()]),
  content_type: Type.String({ minLength: 1 }),
  file_size: nonNegative,
  /** False when the content was already stamped in this namespace (the store kept one record). */
  created: Type.Boolean(),
  uid: Type.Optional(Type.Unknown()),
})

/** STAMP_WORKFLOW_COMPLETED (the orchestrator's wire contract). */
export const WorkflowCompletedPayload = Type.Object({
  workflow_id: Type.String({ minLength: 1 }),
  namespace,
  file_hash: Type.String({ minLength: 1 }),
  file_path: Type.Union([Type.String(), Type.Null()]),
  content_type: Type.String({ minLength: 1 }),
  file_size: nonNegative,
  stamp_type: Type.String({ minLength: 1 }),
  degraded: Type.Boolean(),
  duration_ms: Type.Number({ minimum: 0 }),
  step_count: nonNegative,
})

/** STAMP_WORKFLOW_FAILED (the orchestrator's wire contract). */
export const WorkflowFailedPayload = Type.Object({
  workflow_id: Type.String({ minLength: 1 }),
  namespace,
  failed_step: Type.String({ minLength: 1 }),
  error_code: Type.String({ minLength: 1 }),
  error_message: Type.String(),
  duration_ms: Type.Number({ minimum: 0 }),
})

export type StampCreated = Static<typeof StampCreatedPayload>
export type WorkflowCompleted = Static<typeof WorkflowCompletedPayload>
export type WorkflowFailed = Static<typeof WorkflowFailedPayload>

/** One consumed event, ready to aggregate. `at` is the event's time (ms since the epoch). */
export type ReducerItem =
  | { kind: 'stamp'; eventId: string; at: number; payload: StampCreated }
  | { kind: 'workflow_completed'; eventId: string; at: number; payload: WorkflowCompleted }
  | { kind: 'workflow_failed'; eventId: string; at: number; payload: WorkflowFailed }

export const consumedEventTypes = [
  'METADATA_STAMP_CREATED',
  'STAMP_WORKFLOW_COMPLETED',
  'STAMP_WORKFLOW_FAILED',
] as const
export type ConsumedEventType = (typeof consumedEventTypes)[number]

const parsers = {
  METADATA_STAMP_CREATED: compileParser(StampCreatedPayload, 'METADATA_STAMP_CREATED payload'),
  STAMP_WORKFLOW_COMPLETED: compileParser(WorkflowCompletedPayload, 'STAMP_WORKFLOW_COMPLETED payload'),
  STAMP_WORKFLOW_FAILED: compileParser(WorkflowFailedPayload, 'STAMP_WORKFLOW_FAILED payload'),
}

/**
 * The item an envelope carries; throws InvalidInputError naming the bad field, or the event type the
 * reducer does not consume (the consumer then dead-letters the event with that reason).
 */
export function toReducerItem(envelope: OnexEnvelopeV1): ReducerItem {
  const at = Date.parse(envelope.event_timestamp)
  const eventId = envelope.event_id
  switch (envelope.event_type) {
    case 'METADATA_STAMP_CREATED':
      return { kind: 'stamp', eventId, at, payload: parsers.METADATA_STAMP_CREATED(envelope.payload) }
    case 'STAMP_WORKFLOW_COMPLETED':
      return {
        kind: 'workflow_completed',
        eventId,
        at,
        payload: parsers.STAMP_WORKFLOW_COMPLETED(envelope.payload),
      }
    case 'STAMP_WORKFLOW_FAILED':
      return {
        kind: 'workflow_failed',
        eventId,
        at,
        payload: parsers.STAMP_WORKFLOW_FAILED(envelope.payload),
      }
    default: {
      const message = `${envelope.event_type} is not an event the reducer consumes (${consumedEventTypes.join(', ')})`
      throw new InvalidInputError(message, [{ field: 'event_type', message }])
    }
  }
}
