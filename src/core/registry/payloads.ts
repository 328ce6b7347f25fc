import Type, { type Static, type TLiteral } from 'typebox'
import { compileParser } from '../schema.ts'

/**
 * The registry's event payloads (DESIGN section 4), as schemas: nodes build them, the registry parses
 * them with these compiled parsers (a bad payload is an InvalidInputError naming the field, which the
 * consumer pipeline dead-letters). Unknown fields are allowed and ignored.
 */

export const nodeTypes = ['effect', 'compute', 'reducer', 'orchestrator'] as const
export type NodeType = (typeof nodeTypes)[number]
export const healthStatuses = ['healthy', 'degraded', 'unhealthy', 'critical', 'recovering'] as const
export type HealthStatus = (typeof healthStatuses)[number]
export const removalReasons = ['graceful_shutdown', 'lease_expired', 'manual_deregistration'] as const
export type RemovalReason = (typeof removalReasons)[number]

/** The namespaces a registration may have (as stamping namespaces). */
export const namespacePattern = '^(omninode|onex)\\.[a-zA-Z0-9_.]+$'

const literals = <T extends string>(values: readonly T[]) =>
  Type.Union(values.map((v) => Type.Literal(v)) as [TLiteral<T>])

export const NodeTypeSchema = literals(nodeTypes)
export const HealthStatusSchema = literals(healthStatuses)
export const RemovalReasonSchema = literals(removalReasons)
const NodeId = Type.String({ minLength: 1, maxLength: 256 })
const Namespace = Type.String({ pattern: namespacePattern, maxLength: 256 })
const Timestamp = Type.String({
  pattern: '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}(\\.\\d+)?(Z|[+-]\\d{2}:\\d{2})$',
})

export const EndpointsSchema = Type.Object({
  health: Type.Optional(Type.String()),
  api: Type.Optional(Type.String()),
  metrics: Type.Optional(Type.String()),
})

/** NODE_INTROSPECTION: who a node is and what it offers. */
export const IntrospectionSchema = Type.Object({
  node_id: NodeId,
  node_type: NodeTypeSchema,
  node_role: Type.Optional(Type.String({ minLength: 1 })),
  node_version: Type.String({ minLength: 1 }),
  namespace: Namespace,
  capabilities: Type.Record(Type.String(), Type.Unknown()),
  endpoints: EndpointsSchema,
  metadata: Type.Record(Type.String(), Type.Unknown()),
  network_id: Type.Optional(Type.String()),
  deployment_id: Type.Optional(Type.String()),
  epoch: Type.Optional(Type.Integer({ minimum: 0 })),
  /** Up to a week: a lease is a promise to come back, not a registration for ever. */
  lease_ttl_seconds: Type.Number({ exclusiveMinimum: 0, maximum: 604_800 }),
})
export type Introspection = Static<typeof IntrospectionSchema>

/** NODE_HEARTBEAT: alive, and how it feels. */
export const HeartbeatSchema = Type.Object({
  node_id: NodeId,
  node_type: NodeTypeSchema,
  health_status: HealthStatusSchema,
  uptime_seconds: Type.Number({ minimum: 0 }),
  active_operations: Type.Integer({ minimum: 0 }),
  resource_usage: Type.Object({
    cpu_percent: Type.Number({ minimum: 0 }),
    memory_mb: Type.Number({ minimum: 0 }),
  }),
  /** Not in DESIGN: lets a registry scope a heartbeat without a lookup; optional. */
  namespace: Type.Optional(Namespace),
})
export type Heartbeat = Static<typeof HeartbeatSchema>

/** NODE_TOMBSTONE: gone, and why. */
export const TombstoneSchema = Type.Object({
  node_id: NodeId,
  node_type: NodeTypeSchema,
  removal_reason: RemovalReasonSchema,
  removal_timestamp: Timestamp,
  final_status: Type.String(),
  namespace: Type.Optional(Namespace),
})
export type Tombstone = Static<typeof TombstoneSchema>

/** REGISTRY_REQUEST_INTROSPECTION: every node (or only `node_ids`) answers with its introspection. */
export const IntrospectionRequestSchema = Type.Object({
  reason: Type.String(),
  node_ids: Type.Optional(Type.Array(NodeId)),
  namespace: Type.Optional(Namespace),
})
export type IntrospectionRequest = Static<typeof IntrospectionRequestSchema>

/** A node as the topology holds it (GET /topology, and what an `added`/`updated` change carries). */
export const TopologyNodeSchema = Type.Object({
  node_id: NodeId,
  node_type: NodeTypeSchema,
  node_role: Type.Union([Type.String(), Type.Null()]),
  node_version: Type.String(),
  namespace: Type.String(),
  health_status: HealthStatusSchema,
  endpoints: EndpointsSchema,
  capabilities: Type.Record(Type.String(), Type.Unknown()),
})
export type TopologyNode = Static<typeof TopologyNodeSchema>

export const changeTypes = ['added', 'updated', 'removed'] as const
export type ChangeType = (typeof changeTypes)[number]

/**
 * One change of a topology diff. DESIGN's fields, plus `node` (the whole node after an added or
 * updated change) so that a client can apply the diff without asking for the node.
 */
export const TopologyChangeSchema = Type.Object({
  change_type: literals(changeTypes),
  node_id: NodeId,
  node_type: NodeTypeSchema,
  changed_fields: Type.Optional(Type.Array(Type.String())),
  endpoints: Type.Optional(EndpointsSchema),
  capabilities: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
  removal_reason: Type.Optional(RemovalReasonSchema),
  node: Type.Optional(TopologyNodeSchema),
})
export type TopologyChange = Static<typeof TopologyChangeSchema>

/** TOPOLOGY_DIFF: versions are gapless, so previous_version is always topology_version - 1. */
export const TopologyDiffSchema = Type.Object({
  topology_version: Type.Integer({ minimum: 1 }),
  previous_version: Type.Integer({ minimum: 0 }),
  changes: Type.Array(TopologyChangeSchema),
  summary: Type.Object({
    total_nodes: Type.Integer({ minimum: 0 }),
    nodes_added: Type.Integer({ minimum: 0 }),
    nodes_updated: Type.Integer({ minimum: 0 }),
    nodes_removed: Type.Integer({ minimum: 0 }),
  }),
})
export type TopologyDiff = Static<typeof TopologyDiffSchema>

export const TopologySnapshotSchema = Type.Object({
  topology_version: Type.Integer({ minimum: 0 }),
  nodes: Type.Array(TopologyNodeSchema),
})
export type TopologySnapshot = Static<typeof TopologySnapshotSchema>

export const parseIntrospection = compileParser(IntrospectionSchema, 'NODE_INTROSPECTION payload')
export const parseHeartbeat = compileParser(HeartbeatSchema, 'NODE_HEARTBEAT payload')
export const parseTombstone = compileParser(TombstoneSchema, 'NODE_TOMBSTONE payload')
export const parseIntrospectionRequest = compileParser(
  IntrospectionRequestSchema,
  'REGISTRY_REQUEST_INTROSPECTION payload',
)
export const parseTopologyDiff = compileParser(TopologyDiffSchema, 'TOPOLOGY_DIFF payload')
export const parseTopologySnapshot = compileParser(TopologySnapshotSchema, 'topology snapshot')

/** Whether a registry serving `served` (undefined: every namespace) accepts a node of `namespace`. */
export function servesNamespace(served: string | undefined, namespace: string): boolean {
  return served === undefined || served === namespace
}
