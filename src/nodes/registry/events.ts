import { randomUUID } from 'node:crypto'
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
}

/** Every diff on one key: one partition, so that consumers see versions in order. */
export const topologyPartitionKey = 'topology'

/** The registry's events (its contract's published events), as outbox messages. */
export class RegistryEvents {
  #settings: RegistryEventSettings
  #clock: Clock

  constructor(settings: RegistryEventSettings, clock: Clock) {
    this.#settings = settings
    this.#clock = clock
  }

  topics(): { introspection: string; heartbeat: string; tombstone: string } {
    const env = this.#settings.environment
    return {
      introspection: topicName(env, 'nodeIntrospection'),
      heartbeat: topicName(env, 'nodeHeartbeat'),
      tombstone: topicName(env, 'nodeTombstone'),
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
    return this.#message('nodeTombstone', {
      eventType: 'NODE_TOMBSTONE',
      payload,
      partitionKey: node.node_id,
      correlationId,
    })
  }

  topologyDiff(diff: TopologyDiff): OutgoingMessage {
    return this.#message('topologyDiff', {
      eventType: 'TOPOLOGY_DIFF',
      payload: diff,
      partitionKey: topologyPartitionKey,
    })
  }

  /** Answers keep its correlation_id; `cause` is the event that prompted it, if any. */
  requestIntrospection(
    request: IntrospectionRequest,
    cause: { correlationId?: string | undefined; causationId?: string | undefined } = {},
  ): OutgoingMessage {
    return this.#message('registryRequestIntrospection', {
      eventType: 'REGISTRY_REQUEST_INTROSPECTION',
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
    return this.#message('nodeRegistrationRejected', {
      ...cause,
      eventType: 'NODE_REGISTRATION_REJECTED',
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
    return this.#message('nodeHealthChanged', {
      eventType: 'NODE_HEALTH_CHANGED',
      payload: { node_id: nodeId, namespace, previous_status: from, health_status: to },
      partitionKey: nodeId,
    })
  }

  #message(topic: TopicKey, event: NewEvent): OutgoingMessage {
    const envelope = createEnvelope(this.#settings.source, event, {
      eventId: randomUUID(),
      now: this.#clock.now(),
    })
    return { topic: topicName(this.#settings.environment, topic), envelope }
  }
}
