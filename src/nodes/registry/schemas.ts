import Type from 'typebox'
import {
  EndpointsSchema,
  HealthStatusSchema,
  IntrospectionSchema,
  NodeTypeSchema,
  namespacePattern,
  RemovalReasonSchema,
  TopologyDiffSchema,
  TopologySnapshotSchema,
} from '../../core/registry/payloads.ts'

/** POST /nodes: an introspection payload, as on the bus. */
export const RegisterBody = IntrospectionSchema

export const NodeParams = Type.Object({ node_id: Type.String({ minLength: 1, maxLength: 256 }) })

export const NodesQuery = Type.Object(
  {
    type: Type.Optional(NodeTypeSchema),
    role: Type.Optional(Type.String({ minLength: 1 })),
    namespace: Type.Optional(Type.String({ pattern: namespacePattern })),
    health: Type.Optional(HealthStatusSchema),
    capability: Type.Optional(Type.String({ minLength: 1 })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 10000 })),
  },
  { additionalProperties: false },
)

export const DiffsQuery = Type.Object(
  {
    since: Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER }),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
  },
  { additionalProperties: false },
)

export const StreamQuery = Type.Object(
  { since: Type.Optional(Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER })) },
  { additionalProperties: false },
)

const timestamp = Type.String({ description: 'ISO-8601 UTC' })

export const NodeView = Type.Object({
  node_id: Type.String(),
  namespace: Type.String(),
  node_type: NodeTypeSchema,
  node_role: Type.Union([Type.String(), Type.Null()]),
  node_version: Type.String(),
  capabilities: Type.Record(Type.String(), Type.Unknown()),
  endpoints: EndpointsSchema,
  metadata: Type.Record(Type.String(), Type.Unknown()),
  health_status: HealthStatusSchema,
  lease_ttl_seconds: Type.Number(),
  lease_expires_at: timestamp,
  epoch: Type.Union([Type.Integer(), Type.Null()]),
  last_heartbeat: timestamp,
  registered_at: timestamp,
  removed_at: Type.Union([timestamp, Type.Null()]),
  removal_reason: Type.Union([RemovalReasonSchema, Type.Null()]),
})

export const RegisterData = Type.Object({
  outcome: Type.Union([
    Type.Literal('added'),
    Type.Literal('updated'),
    Type.Literal('unchanged'),
    Type.Literal('stale'),
    Type.Literal('rejected'),
  ]),
  node: NodeView,
})
export const NodesData = Type.Object({ count: Type.Integer(), nodes: Type.Array(NodeView) })
export const TopologyData = TopologySnapshotSchema
export const DiffsData = Type.Object({
  since: Type.Integer(),
  latest: Type.Integer(),
  diffs: Type.Array(TopologyDiffSchema),
})
export const TargetGroups = Type.Array(
  Type.Object({ targets: Type.Array(Type.String()), labels: Type.Record(Type.String(), Type.String()) }),
)
