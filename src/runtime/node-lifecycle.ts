import { randomUUID } from 'node:crypto'
import { hostname } from 'node:os'
import { createEnvelope, type EnvelopeSource, type NewEvent, replyTo } from '../core/events/envelope.ts'
import { topicName } from '../core/events/topics.ts'
import type { NodeDescription } from '../core/registry/description.ts'
import {
  type Heartbeat,
  type Introspection,
  parseIntrospectionRequest,
  type Tombstone,
} from '../core/registry/payloads.ts'
import type { Clock } from '../ports/clock.ts'
import type { OutgoingMessage, Subscription } from '../ports/event-bus.ts'
import type { EventConsumers } from '../ports/event-consumers.ts'
import { logRetry } from '../ports/logger.ts'
import type { Outbox } from '../ports/outbox.ts'
import type { BridgeConfig } from './config/load.ts'
import type { HostedNode } from './hosted-node.ts'
import type { Logger } from './logger.ts'

export interface NodeLifecycleDeps {
  nodes: readonly HostedNode[]
  outbox: Outbox
  consumers: EventConsumers
  clock: Clock
  logger: Logger
  config: Pick<BridgeConfig, 'env' | 'namespace' | 'heartbeatIntervalSeconds' | 'leaseTtlSeconds'>
  /** The envelope source of a node's events (its node_id replaces the source's). */
  source: (node: string) => EnvelopeSource
  /** Requests in flight (NODE_HEARTBEAT `active_operations`). */
  activeOperations: () => number
  /** Publishes what the outbox holds now, bounded: a clean stop's tombstones leave before the bus closes. */
  flush: () => Promise<void>
}

const fallbackDescription: NodeDescription = { nodeType: 'effect', capabilities: {} }

/**
 * Two-way registration, node side (DESIGN section 4), for every node the process hosts: a
 * NODE_INTROSPECTION once the server listens (its endpoints are then known), again when the node says
 * its description changed, and in answer to REGISTRY_REQUEST_INTROSPECTION (same correlation_id);
 * a NODE_HEARTBEAT every heartbeat interval; a NODE_TOMBSTONE (graceful_shutdown) on a clean stop.
 * Everything goes through the outbox, like any node's events.
 */
export class NodeLifecycle {
  #d: NodeLifecycleDeps
  #ids = new Map<HostedNode, string>()
  #baseUrl = ''
  #startedAt = 0
  /** Announced in every introspection: a restarted process announces a higher one. */
  #epoch = 0
  #timer: NodeJS.Timeout | undefined
  #subscription: Subscription | undefined
  #unwatch: Array<() => void> = []
  #cpu = process.cpuUsage()
  #cpuAt = performance.now()
  #started = false

  constructor(deps: NodeLifecycleDeps) {
    this.#d = deps
  }

  /** The node_id of a hosted node once started: `<name>@<host:port of the server>`. */
  nodeId(node: HostedNode): string | undefined {
    return this.#ids.get(node)
  }

  get leaseTtlSeconds(): number {
    const { leaseTtlSeconds, heartbeatIntervalSeconds } = this.#d.config
    return leaseTtlSeconds ?? 2 * heartbeatIntervalSeconds
  }

  /** Announces every node at `baseUrl` (the listening server) and starts the heartbeats. */
  async start(baseUrl: string): Promise<void> {
    if (this.#started) return
    this.#started = true
    this.#baseUrl = baseUrl.replace(/\/$/, '')
    this.#startedAt = Date.now()
    this.#epoch = this.#startedAt
    const host = new URL(this.#baseUrl).host
    for (const node of this.#d.nodes) this.#ids.set(node, `${node.name}@${host}`)
    const { env } = this.#d.config
    this.#subscription = await this.#d.consumers.subscribe({
      // each process answers every request: a group of its own, from now on
      groupId: `node-runtime:${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`,
      topics: [topicName(env, 'registryRequestIntrospection')],
      fromBeginning: false,
      handle: async (event, tx) => {
        const request = parseIntrospectionRequest(event.envelope.payload)
        if (request.namespace !== undefined && request.namespace !== this.#d.config.namespace) return
        const wanted = this.#d.nodes.filter(
          (n) => request.node_ids === undefined || request.node_ids.includes(this.#ids.get(n)!),
        )
        await this.#d.outbox.append(
          tx,
          wanted.map((n) => this.#introspection(n, replyTo(event.envelope, { eventType: '', payload: {} }))),
        )
      },
    })
    for (const node of this.#d.nodes) {
      const unwatch = node.onDescriptionChange?.(() => {
        this.announce(node).catch((err: unknown) =>
          this.#d.logger.warn(
            { err, node: node.name },
            'changed introspection not written; the next request or restart sends it',
          ),
        )
      })
      if (unwatch) this.#unwatch.push(unwatch)
    }
    await this.#d.outbox.write(this.#d.nodes.map((n) => this.#introspection(n)))
    this.#scheduleHeartbeat()
  }

  /** Writes the node's introspection now (its description changed). */
  async announce(node: HostedNode): Promise<void> {
    if (!this.#started) return
    await this.#d.outbox.write([this.#introspection(node)])
  }

  /** Writes one heartbeat per node now (the timer does it every interval). */
  async heartbeat(): Promise<void> {
    await this.#d.outbox.write(this.#d.nodes.map((n) => this.#heartbeat(n)))
  }

  /** A clean stop: heartbeats end, every node leaves with a tombstone, published before returning. */
  async stop(): Promise<void> {
    if (!this.#started) return
    this.#started = false
    clearTimeout(this.#timer)
    for (const off of this.#unwatch) off()
    await this.#subscription?.stop()
    try {
      await this.#d.outbox.write(this.#d.nodes.map((n) => this.#tombstone(n)))
      await this.#d.flush()
    } catch (err) {
      this.#d.logger.warn({ err }, 'tombstones not written; the registry will expire the leases instead')
    }
  }

  #scheduleHeartbeat(): void {
    this.#timer = setTimeout(() => {
      this.heartbeat()
        .catch(logRetry(this.#d.logger, 'heartbeat not written; will retry'))
        .finally(() => {
          if (this.#started) this.#scheduleHeartbeat()
        })
    }, this.#d.config.heartbeatIntervalSeconds * 1000)
    this.#timer.unref()
  }

  #introspection(node: HostedNode, reply?: NewEvent): OutgoingMessage {
    const d = node.describe?.() ?? fallbackDescription
    const payload: Introspection = {
      node_id: this.#ids.get(node)!,
      node_type: d.nodeType,
      ...(d.nodeRole === undefined ? {} : { node_role: d.nodeRole }),
      node_version: this.#d.source(node.name).version,
      namespace: this.#d.config.namespace,
      capabilities: d.capabilities,
      endpoints: {
        health: `${this.#baseUrl}/health`,
        api: this.#baseUrl,
        metrics: `${this.#baseUrl}/metrics`,
      },
      metadata: { ...d.metadata, hostname: hostname(), pid: process.pid, node_name: node.name },
      epoch: this.#epoch,
      lease_ttl_seconds: this.leaseTtlSeconds,
    }
    return this.#message(node, 'nodeIntrospection', {
      ...reply,
      eventType: 'NODE_INTROSPECTION',
      payload,
    })
  }

  #heartbeat(node: HostedNode): OutgoingMessage {
    const now = performance.now()
    const cpu = process.cpuUsage(this.#cpu)
    const elapsedUs = Math.max(1, (now - this.#cpuAt) * 1000)
    const payload: Heartbeat = {
      node_id: this.#ids.get(node)!,
      node_type: (node.describe?.() ?? fallbackDescription).nodeType,
      health_status: node.health?.() ?? 'healthy',
      uptime_seconds: (Date.now() - this.#startedAt) / 1000,
      active_operations: this.#d.activeOperations(),
      resource_usage: {
        cpu_percent: Number((((cpu.user + cpu.system) / elapsedUs) * 100).toFixed(2)),
        memory_mb: Number((process.memoryUsage.rss() / 1024 / 1024).toFixed(1)),
      },
      namespace: this.#d.config.namespace,
    }
    return this.#message(node, 'nodeHeartbeat', { eventType: 'NODE_HEARTBEAT', payload })
  }

  #tombstone(node: HostedNode): OutgoingMessage {
    const payload: Tombstone = {
      node_id: this.#ids.get(node)!,
      node_type: (node.describe?.() ?? fallbackDescription).nodeType,
      removal_reason: 'graceful_shutdown',
      removal_timestamp: this.#d.clock.now().toISOString(),
      final_status: node.health?.() ?? 'healthy',
      namespace: this.#d.config.namespace,
    }
    return this.#message(node, 'nodeTombstone', { eventType: 'NODE_TOMBSTONE', payload })
  }

  #message(
    node: HostedNode,
    topic: 'nodeIntrospection' | 'nodeHeartbeat' | 'nodeTombstone',
    event: NewEvent,
  ): OutgoingMessage {
    const nodeId = this.#ids.get(node)!
    const source = { ...this.#d.source(node.name), nodeId }
    const envelope = createEnvelope(
      source,
      { ...event, partitionKey: nodeId },
      { eventId: randomUUID(), now: this.#d.clock.now() },
    )
    return { topic: topicName(this.#d.config.env, topic), envelope }
  }
}
