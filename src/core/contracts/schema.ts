import Type, { type Static, type TLiteral } from 'typebox'

/**
 * The ONEX v2.0 node contract (DESIGN section 6) as this bridge reads it: identity, models, and the
 * subcontracts of the node's kind. Unknown fields are refused, so that a misspelt setting is an error
 * at start, not a default silently used.
 */

const semver = Type.Object(
  {
    major: Type.Integer({ minimum: 0 }),
    minor: Type.Integer({ minimum: 0 }),
    patch: Type.Integer({ minimum: 0 }),
  },
  { additionalProperties: false },
)

const eventType = Type.String({ pattern: '^[A-Z][A-Z0-9]*(_[A-Z0-9]+)*$' })
/** A topic of the catalogue by its kebab-case name (`metadata-stamp-created`), without env or version. */
const topicRef = Type.String({ pattern: '^[a-z0-9]+(-[a-z0-9]+)*$' })
const snake = Type.String({ pattern: '^[a-z][a-z0-9_]*$' })

export const retryPolicySchema = Type.Object(
  {
    /** Attempts in all, the first included (1: no retry). */
    max_attempts: Type.Integer({ minimum: 1, maximum: 100 }),
    /** Delay before the second attempt. */
    initial_backoff_ms: Type.Integer({ minimum: 0 }),
    /** Each further delay is the previous one times this (default 2). */
    backoff_multiplier: Type.Optional(Type.Number({ minimum: 1, maximum: 10 })),
    max_backoff_ms: Type.Integer({ minimum: 0 }),
  },
  { additionalProperties: false },
)

export const workflowStepSchema = Type.Object(
  {
    name: snake,
    description: Type.Optional(Type.String()),
    /** One attempt's limit. */
    timeout_ms: Type.Integer({ minimum: 1, maximum: 3_600_000 }),
    retry_policy: retryPolicySchema,
    /** A step that may fail without failing the workflow (it completes marked degraded). */
    optional: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
)

const fsmSchema = Type.Object(
  {
    states: Type.Array(snake, { minItems: 1, uniqueItems: true }),
    initial_state: snake,
    terminal_states: Type.Array(snake, { uniqueItems: true }),
    transitions: Type.Array(
      Type.Object({ from: snake, to: snake, trigger: Type.Optional(snake) }, { additionalProperties: false }),
      { minItems: 1 },
    ),
  },
  { additionalProperties: false },
)

const eventRef = Type.Object({ event: eventType, topic: topicRef }, { additionalProperties: false })

const eventTypeSchema = Type.Object(
  {
    published_events: Type.Array(eventRef),
    consumed_events: Type.Array(eventRef),
  },
  { additionalProperties: false },
)

export const aggregationTypes = [
  'namespace_grouping',
  'time_window',
  'file_type_grouping',
  'size_buckets',
  'workflow_grouping',
  'custom',
] as const

const aggregationSchema = Type.Object(
  {
    aggregation_types: Type.Array(
      Type.Union(aggregationTypes.map((t) => Type.Literal(t)) as [TLiteral<AggregationType>]),
      {
        minItems: 1,
        uniqueItems: true,
      },
    ),
    /** A batch closes when this much time passed since its first item... */
    window_size_ms: Type.Integer({ minimum: 1, maximum: 3_600_000 }),
    /** ...or when it holds this many items, whichever comes first. */
    batch_size: Type.Integer({ minimum: 1, maximum: 1_000_000 }),
    /** Upper bounds (bytes) of the size buckets, ascending; the last bucket is open. */
    size_buckets_bytes: Type.Optional(Type.Array(Type.Integer({ minimum: 1 }), { minItems: 1 })),
    /** Payload field that groups `custom` aggregation. */
    custom_group_by: Type.Optional(Type.String({ minLength: 1 })),
  },
  { additionalProperties: false },
)

const workflowCoordinationSchema = Type.Object(
  {
    workflow_steps: Type.Array(workflowStepSchema, { minItems: 1 }),
  },
  { additionalProperties: false },
)

/** Free-form subcontracts this bridge carries but does not interpret (yet). */
const openObject = Type.Record(Type.String(), Type.Unknown())

export const nodeContractSchema = Type.Object(
  {
    name: Type.String({ pattern: '^[A-Za-z][A-Za-z0-9_]*$' }),
    version: semver,
    node_type: Type.Union([
      Type.Literal('EFFECT'),
      Type.Literal('COMPUTE'),
      Type.Literal('REDUCER'),
      Type.Literal('ORCHESTRATOR'),
    ]),
    description: Type.String({ minLength: 1 }),
    input_model: Type.String({ minLength: 1 }),
    output_model: Type.String({ minLength: 1 }),
    fsm: Type.Optional(fsmSchema),
    event_type: eventTypeSchema,
    aggregation: Type.Optional(aggregationSchema),
    state_management: Type.Optional(openObject),
    workflow_coordination: Type.Optional(workflowCoordinationSchema),
    routing: Type.Optional(openObject),
    caching: Type.Optional(openObject),
  },
  { additionalProperties: false },
)

export type NodeContract = Static<typeof nodeContractSchema>
export type WorkflowStep = Static<typeof workflowStepSchema>
export type RetryPolicy = Static<typeof retryPolicySchema>
export type AggregationType = (typeof aggregationTypes)[number]
