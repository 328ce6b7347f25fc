import Type from 'typebox'
import { NAMESPACE_PATTERN } from '../../core/stamp/index.ts'

/**
 * Wire schemas of the workflow routes. An item is a POST /stamp body (the stamping node's schema is
 * not imported: nodes are independent, and this one is the orchestrator's own contract with its
 * callers), plus `intelligence` to skip the optional onextree_intelligence step.
 */

const hexHash = Type.String({ pattern: '^[0-9a-f]{64}$' })
const states = ['pending', 'processing', 'completed', 'failed'] as const

export const WorkflowItem = Type.Object(
  {
    content: Type.Optional(Type.String({ description: 'The content as UTF-8 text' })),
    content_base64: Type.Optional(
      Type.String({
        pattern: '^[A-Za-z0-9+/]*={0,2}$',
        description: 'The content as base64, instead of `content`',
      }),
    ),
    file_path: Type.Optional(Type.String({ minLength: 1, maxLength: 4096 })),
    content_type: Type.Optional(Type.String({ minLength: 1, maxLength: 255 })),
    namespace: Type.Optional(
      Type.String({ pattern: NAMESPACE_PATTERN.source, description: 'Default omninode.services.metadata' }),
    ),
    stamp_type: Type.Optional(
      Type.Union([Type.Literal('lightweight'), Type.Literal('rich'), Type.Literal('sidecar')]),
    ),
    intelligence_data: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
    intelligence: Type.Optional(
      Type.Boolean({ description: 'Run the onextree_intelligence step (default true)' }),
    ),
  },
  { additionalProperties: false },
)

export function workflowBatch(maxItems: number) {
  return Type.Object(
    { items: Type.Array(WorkflowItem, { minItems: 1, maxItems }) },
    { additionalProperties: false },
  )
}

/** Either one item, or `{items: [...]}`: told apart by `items`, then parsed by the matching schema. */
export const WorkflowBody = Type.Record(Type.String(), Type.Unknown(), {
  description: 'A POST /stamp body, or {items: [POST /stamp body, ...]}',
})

const StepSummary = Type.Object({
  step: Type.String(),
  status: Type.Union([Type.Literal('completed'), Type.Literal('failed'), Type.Literal('degraded')]),
  attempts: Type.Integer(),
  duration_ms: Type.Number(),
})

const WorkflowError = Type.Object({
  failed_step: Type.Union([Type.String(), Type.Null()]),
  code: Type.String(),
  message: Type.String(),
})

export const WorkflowResult = Type.Object({
  workflow_id: Type.String(),
  state: Type.Union([Type.Literal('completed'), Type.Literal('failed')]),
  namespace: Type.String(),
  degraded: Type.Boolean({ description: 'OnexTree did not answer: the local analyser did' }),
  duration_ms: Type.Number(),
  steps: Type.Array(StepSummary),
  file_hash: Type.Optional(hexHash),
  stamp_type: Type.Optional(Type.String()),
  created: Type.Optional(Type.Boolean()),
  stamped_content: Type.Optional(Type.String()),
  stamped_content_base64: Type.Optional(Type.String()),
  sidecar: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
  error: Type.Optional(WorkflowError),
})

export const SubmitData = Type.Object({
  total: Type.Integer(),
  completed: Type.Integer(),
  failed: Type.Integer(),
  workflows: Type.Array(WorkflowResult),
})

const WorkflowSchema = Type.Object({
  workflow_id: Type.String(),
  state: Type.String(),
  namespace: Type.String(),
  file_path: Type.Union([Type.String(), Type.Null()]),
  file_hash: Type.Union([Type.String(), Type.Null()]),
  degraded: Type.Boolean(),
  correlation_id: Type.Union([Type.String(), Type.Null()]),
  request_event_id: Type.Union([Type.String(), Type.Null()]),
  result: Type.Union([Type.Record(Type.String(), Type.Unknown()), Type.Null()]),
  error: Type.Union([WorkflowError, Type.Null()]),
  created_at: Type.String(),
  started_at: Type.Union([Type.String(), Type.Null()]),
  finished_at: Type.Union([Type.String(), Type.Null()]),
  duration_ms: Type.Union([Type.Number(), Type.Null()]),
})

export const WorkflowDetail = Type.Object({
  ...WorkflowSchema.properties,
  steps: Type.Array(
    Type.Object({
      step: Type.String(),
      status: Type.String(),
      attempts: Type.Integer(),
      started_at: Type.String(),
      duration_ms: Type.Number(),
      error: Type.Union([Type.Object({ code: Type.String(), message: Type.String() }), Type.Null()]),
      output: Type.Record(Type.String(), Type.Unknown()),
    }),
  ),
  transitions: Type.Array(
    Type.Object({
      from_state: Type.String(),
      to_state: Type.String(),
      trigger: Type.String(),
      at: Type.String(),
    }),
  ),
})

export const WorkflowParams = Type.Object({
  id: Type.String({
    pattern: '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$',
  }),
})

export const WorkflowQuery = Type.Object(
  {
    state: Type.Optional(Type.Union(states.map((s) => Type.Literal(s)))),
    namespace: Type.Optional(Type.String({ pattern: NAMESPACE_PATTERN.source })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 50 })),
    cursor: Type.Optional(Type.String({ minLength: 1, maxLength: 512 })),
  },
  { additionalProperties: false },
)

export const WorkflowList = Type.Object({
  items: Type.Array(WorkflowSchema),
  next_cursor: Type.Union([Type.String(), Type.Null()]),
})
