import Type from 'typebox'

/** Wire schemas of the event tracer's routes (GET /events, GET /events/sessions/{id}, POST /events/dlq/replay). */

const nullable = <T extends Parameters<typeof Type.Union>[0][number]>(t: T) => Type.Union([t, Type.Null()])
const sessionId = Type.String({
  pattern: '^[A-Za-z0-9._:-]{1,128}$',
  description: 'A session id: 1 to 128 letters, digits, dots, underscores, colons or dashes',
})
const direction = Type.Union(
  [Type.Literal('published'), Type.Literal('consumed'), Type.Literal('dead_lettered')],
  { description: 'published by the outbox relay, consumed by a handler (each attempt), or dead-lettered' },
)

export const EventsQuery = Type.Object(
  {
    correlation_id: Type.Optional(Type.String({ format: 'uuid' })),
    session_id: Type.Optional(sessionId),
    topic: Type.Optional(Type.String({ minLength: 1, maxLength: 255 })),
    direction: Type.Optional(direction),
    since: Type.Optional(
      Type.String({
        format: 'date-time',
        description: 'Events recorded at or after this time, oldest first; without it, the latest `limit`',
      }),
    ),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100 })),
  },
  { additionalProperties: false },
)

export const EventEntry = Type.Object({
  id: Type.Integer({ description: 'The event log entry (an event has one entry per step)' }),
  event_id: Type.String(),
  event_type: Type.String(),
  topic: Type.String({ description: 'The event topic (for a dead letter, the original topic)' }),
  partition: nullable(Type.Integer()),
  offset: nullable(Type.Integer()),
  direction,
  consumer_group: nullable(Type.String()),
  correlation_id: nullable(Type.String()),
  causation_id: nullable(Type.String()),
  session_id: nullable(Type.String()),
  source_node_id: nullable(Type.String()),
  status: Type.Union([Type.Literal('ok'), Type.Literal('failed')]),
  error: nullable(Type.String()),
  attempt: nullable(Type.Integer()),
  duration_ms: nullable(
    Type.Number({
      description: 'published: time in the outbox until the bus acknowledged; consumed: the handler time',
    }),
  ),
  event_timestamp: nullable(Type.String()),
  recorded_at: Type.String(),
  replayed_at: nullable(Type.String({ description: 'dead letters: when they were replayed' })),
  payload: Type.Record(Type.String(), Type.Unknown(), {
    description: "The envelope's payload; for a dead letter, the dead-letter record (original_data, ...)",
  }),
})

export const EventsData = Type.Object({ count: Type.Integer(), events: Type.Array(EventEntry) })

export const SessionParams = Type.Object({ session_id: sessionId })
export const SessionQuery = Type.Object(
  { limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 10000, default: 1000 })) },
  { additionalProperties: false },
)

export const SessionData = Type.Object({
  session_id: Type.String(),
  started_at: Type.String(),
  ended_at: Type.String(),
  total_duration_ms: Type.Number(),
  event_count: Type.Integer({ description: 'Distinct events' }),
  failures: Type.Integer({ description: 'Failed steps: failed handler attempts and dead letters' }),
  status: Type.Union([Type.Literal('ok'), Type.Literal('failed')]),
  correlation_ids: Type.Array(Type.String()),
  truncated: Type.Boolean({ description: 'More steps exist than `limit`' }),
  steps: Type.Array(
    Type.Object({
      ...EventEntry.properties,
      since_start_ms: Type.Number(),
      since_previous_ms: Type.Number(),
    }),
  ),
})

export const ReplayBody = Type.Object(
  {
    ids: Type.Optional(
      Type.Array(Type.Integer({ minimum: 1 }), {
        minItems: 1,
        maxItems: 1000,
        description: 'Event log ids of dead letters (GET /events?direction=dead_lettered)',
      }),
    ),
    topic: Type.Optional(Type.String({ minLength: 1, maxLength: 255 })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100 })),
  },
  { additionalProperties: false },
)

const ReplayRef = Type.Object({ id: Type.Integer(), event_id: Type.String(), topic: Type.String() })
export const ReplayData = Type.Object({
  replayed: Type.Array(ReplayRef),
  skipped: Type.Array(Type.Object({ ...ReplayRef.properties, reason: Type.String() })),
})
