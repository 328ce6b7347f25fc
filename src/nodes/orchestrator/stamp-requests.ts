import { compileParser } from '../../core/schema.ts'
import type { Queryable } from '../../ports/database.ts'
import type { DeliveredEvent } from '../../ports/event-bus.ts'
import { toInput } from './routes.ts'
import { WorkflowItem } from './schemas.ts'
import type { WorkflowService } from './service.ts'

const parsePayload = compileParser(WorkflowItem, 'payload')

/**
 * The bus face of POST /workflows/stamp: a cmd.metadata-stamp-request whose payload is a POST /stamp
 * body becomes a workflow, created in the consumer's transaction (so a redelivered request never makes
 * a second one) and run right after it commits. Every event of that workflow answers the request:
 * the request's correlation_id (its event_id when it had none) and causation_id = its event_id.
 * A payload that is not a valid item fails the handler, and the bus dead-letters it with the reason.
 */
export function stampRequestHandler(service: WorkflowService, defaultNamespace: string, kick: () => void) {
  return async (event: DeliveredEvent, tx: Queryable): Promise<void> => {
    const request = event.envelope
    const input = toInput(parsePayload(request.payload), defaultNamespace, 'payload.')
    await service.accept(
      input,
      {
        correlationId: request.correlation_id ?? request.event_id,
        causationId: request.event_id,
        requestEventId: request.event_id,
        sessionId:
          typeof request.metadata['session_id'] === 'string' ? request.metadata['session_id'] : undefined,
      },
      tx,
    )
    // the transaction commits once this returns: the pump then finds the workflow pending
    setImmediate(kick)
  }
}
