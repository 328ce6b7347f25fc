import { randomUUID } from 'node:crypto'
import type { PublishedTopics } from '../../core/contracts/parse.ts'
import { asCorrelationId, createEnvelope, type EnvelopeSource } from '../../core/events/envelope.ts'
import type { Environment } from '../../core/events/topics.ts'
import type { Clock } from '../../ports/clock.ts'
import type { OutgoingMessage } from '../../ports/event-bus.ts'

/** Who asked for a workflow: what each of its events carries (DESIGN section 4). */
export interface WorkflowOrigin {
  /** The HTTP request's correlation id, or the bus request's (else its event id). */
  correlationId?: string | undefined
  /** The bus request's event_id: every event of the workflow answers it. */
  causationId?: string | undefined
  sessionId?: string | undefined
}

export interface WorkflowEventSettings {
  source: EnvelopeSource
  environment: Environment
  /** The contract's published events; a contract without one of these fails at start. */
  topics: PublishedTopics
}

const workflowEvents = [
  'STAMP_WORKFLOW_STARTED',
  'STAMP_WORKFLOW_COMPLETED',
  'STAMP_WORKFLOW_FAILED',
  'WORKFLOW_STEP_COMPLETED',
  'WORKFLOW_STATE_TRANSITION',
] as const
type WorkflowEvent = (typeof workflowEvents)[number]

/**
 * The orchestrator's events as outbox messages, payloads as agreed with the reducer (which counts
 * workflows from STAMP_WORKFLOW_COMPLETED and _FAILED). Every event of a workflow is keyed by its
 * workflow_id, so that they keep their order on the bus.
 */
export class WorkflowEvents {
  #source: EnvelopeSource
  #clock: Clock
  #topics: Record<WorkflowEvent, string>

  constructor(settings: WorkflowEventSettings, clock: Clock) {
    this.#source = settings.source
    this.#clock = clock
    this.#topics = settings.topics.topicNames(workflowEvents, settings.environment)
  }

  transition(
    workflowId: string,
    move: { from: string; to: string; trigger: string },
    at: Date,
    origin: WorkflowOrigin,
  ): OutgoingMessage {
    return this.#message('WORKFLOW_STATE_TRANSITION', workflowId, origin, {
      workflow_id: workflowId,
      from_state: move.from,
      to_state: move.to,
      trigger: move.trigger,
      at: at.toISOString(),
    })
  }

  started(
    workflowId: string,
    fields: { namespace: string; filePath: string | null },
    origin: WorkflowOrigin,
  ): OutgoingMessage {
    return this.#message('STAMP_WORKFLOW_STARTED', workflowId, origin, {
      workflow_id: workflowId,
      namespace: fields.namespace,
      file_path: fields.filePath,
      item_count: 1,
    })
  }

  stepCompleted(
    workflowId: string,
    step: { name: string; attempts: number; durationMs: number; status: 'completed' | 'failed' | 'degraded' },
    origin: WorkflowOrigin,
  ): OutgoingMessage {
    return this.#message('WORKFLOW_STEP_COMPLETED', workflowId, origin, {
      workflow_id: workflowId,
      step: step.name,
      attempt: step.attempts,
      duration_ms: step.durationMs,
      status: step.status,
    })
  }

  completed(
    workflowId: string,
    fields: {
      namespace: string
      fileHash: string
      filePath: string | null
      contentType: string
      fileSize: number
      stampType: string
      degraded: boolean
      durationMs: number
      stepCount: number
    },
    origin: WorkflowOrigin,
  ): OutgoingMessage {
    return this.#message('STAMP_WORKFLOW_COMPLETED', workflowId, origin, {
      workflow_id: workflowId,
      namespace: fields.namespace,
      file_hash: fields.fileHash,
      file_path: fields.filePath,
      content_type: fields.contentType,
      file_size: fields.fileSize,
      stamp_type: fields.stampType,
      degraded: fields.degraded,
      duration_ms: fields.durationMs,
      step_count: fields.stepCount,
    })
  }

  failed(
    workflowId: string,
    fields: {
      namespace: string
      failedStep: string
      errorCode: string
      errorMessage: string
      durationMs: number
    },
    origin: WorkflowOrigin,
  ): OutgoingMessage {
    return this.#message('STAMP_WORKFLOW_FAILED', workflowId, origin, {
      workflow_id: workflowId,
      namespace: fields.namespace,
      failed_step: fields.failedStep,
      error_code: fields.errorCode,
      error_message: fields.errorMessage,
      duration_ms: fields.durationMs,
    })
  }

  #message(
    eventType: WorkflowEvent,
    workflowId: string,
    origin: WorkflowOrigin,
    payload: Record<string, unknown>,
  ): OutgoingMessage {
    const envelope = createEnvelope(
      this.#source,
      {
        eventType,
        payload,
        correlationId: asCorrelationId(origin.correlationId),
        causationId: origin.causationId,
        partitionKey: workflowId,
        metadata: origin.sessionId ? { session_id: origin.sessionId } : {},
      },
      { eventId: randomUUID(), now: this.#clock.now() },
    )
    return { topic: this.#topics[eventType], envelope }
  }
}
