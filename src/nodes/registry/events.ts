import { randomUUID } from 'node:crypto'
import type { PublishedTopics } from '../../core/contracts/parse.ts'
import { createEnvelope, type EnvelopeSource, type NewEvent } from '../../core/events/envelope.ts'
import { type Environment, type TopicKey, topicName } from '../../core/events/topics.ts'
import type {
  HealthStatus,
  IntrospectionRequest,
  NodeType,
  RemovalReason,
  Tombstone,
  TopologyDiff,
} from '../../core/registry/payloads.ts'
import type { Clock } from '../../ports/clock.ts'
import type { OutgoingMessage } from '../../ports/event-bus.ts'

export interface RegistryEventSettings {
  source: EnvelopeSource
  environment: Environment
  /** The contract's published events (a contract without one of ours fails here, at start). */
  published: PublishedTopics
  /** The contract's consumed events: where node introspections, heartbeats and tombstones come from. */
  consumed: { introspection: TopicKey; heartbeat: TopicKey; tombstone: TopicKey }
}

type RegistryEvent =
  | 'NODE_TOMBSTONE'
  | 'TOPOLOGY_DIFF'
  | 'REGISTRY_REQUEST_INTROSPECTION'
  | 'NODE_REGISTRATION_REJECTED'
  | 'NODE_HEALTH_CHANGED'

/** Every diff on one key: one partition, so that consumers see versions in order. */
export const topologyPartitionKey = 'topology'

/** The registry's events (its contract's published events), as outbox messages. */
export class RegistryEvents {
  #settings: RegistryEventSettings
  #clock: Clock
  #topics: Record<RegistryEvent, string>

  constructor(settings: RegistryEventSettings, clock: Clock) {
    this.#settings = settings
    this.#clock = clock
    this.#topics = settings.published.topicNames(
      [
        'NODE_TOMBSTONE',
        'TOPOLOGY_DIFF',
        'REGISTRY_REQUEST_INTROSPECTION',
        'NODE_REGISTRATION_REJECTED',
        'NODE_HEALTH_CHANGED',
      ],
      settings.environment,
    )
  }

  /** The topics the registry consumes. */
  topics(): { introspection: string; heartbeat: string; tombstone: string } {
    const { environment: env, consumed } = this.#settings
    return {
      introspection: topicName(env, consumed.introspection),
      heartbeat: topicName(env, consumed.heartbeat),
      tombstone: topicName(env, consumed.tombstone),
    }
  }

  /** A tombstone the registry issues on a node's behalf (lease_expired, manual_deregistration). */
  tombstone(
    node: { node_id: string; node_type: NodeType; namespace: string; health_status: HealthStatus },
    reason: RemovalReason,
    correlationId?: string,
  ): OutgoingMessage {
    const payload: Tombstone = {
      node_id: node.node_id,
      node_type: node.node_type,
      removal_reason: reason,
      removal_timestamp: this.#clock.now().toISOString(),
      final_status: node.health_status,
      namespace: node.namespace,
    }
    return this.#message({
      eventType: 'NODE_TOMBSTONE' satisfies RegistryEvent,
      payload,
      partitionKey: node.node_id,
      correlationId,
    })
  }

  topologyDiff(diff: TopologyDiff): OutgoingMessage {
    return this.#message({
      eventType: 'TOPOLOGY_DIFF' satisfies RegistryEvent,
      payload: diff,
      partitionKey: topologyPartitionKey,
    })
  }

  /** Answers keep its correlation_id; `cause` is the event that prompted it, if any. */
  requestIntrospection(
    request: IntrospectionRequest,
    cause: { correlationId?: string | undefined; causationId?: string | undefined } = {},
  ): OutgoingMessage {
    return this.#message({
      eventType: 'REGISTRY_REQUEST_INTROSPECTION' satisfies RegistryEvent,
      payload: request,
      correlationId: cause.correlationId ?? randomUUID(),
      causationId: cause.causationId,
    })
  }

  rejected(
    node: { node_id: string; namespace: string },
    served: string,
    cause: Omit<NewEvent, 'eventType' | 'payload'>,
  ): OutgoingMessage {
    return this.#message({
      ...cause,
      eventType: 'NODE_REGISTRATION_REJECTED' satisfies RegistryEvent,
      payload: {
        node_id: node.node_id,
        namespace: node.namespace,
        reason: 'namespace_not_served',
        served_namespace: served,
      },
      partitionKey: node.node_id,
    })
  }

  healthChanged(nodeId: string, namespace: string, from: HealthStatus, to: HealthStatus): OutgoingMessage {
    return this.#message({
      eventType: 'NODE_HEALTH_CHANGED' satisfies RegistryEvent,
      payload: { node_id: nodeId, namespace, previous_status: from, health_status: to },
      partitionKey: nodeId,
    })
  }

  #message(event: NewEvent & { eventType: RegistryEvent }): OutgoingMessage {
    const envelope = createEnvelope(this.#settings.source, event, {
      eventId: randomUUID(),
      now: this.#clock.now(),
    })
    return { topic: this.#topics[event.eventType], envelope }
  }
}
