import type { EnvelopeSource } from '../core/events/envelope.ts'
import type { Blake3 } from '../core/hashing/blake3.ts'
import { createRegistryNode } from '../nodes/registry/node.ts'
import { createStampingNode } from '../nodes/stamping/node.ts'
import type { Clock } from '../ports/clock.ts'
import type { Database } from '../ports/database.ts'
import type { EventConsumers } from '../ports/event-consumers.ts'
import type { Outbox } from '../ports/outbox.ts'
import type { NodeName } from './config/keys.ts'
import type { BridgeConfig } from './config/load.ts'
import type { HostedNode } from './hosted-node.ts'
import type { Logger } from './logger.ts'

export interface NodeDeps {
  db: Database
  blake3: Blake3
  clock: Clock
  logger: Logger
  outbox: Outbox
  /** Where a node subscribes its state-changing consumers. */
  consumers: EventConsumers
  /** Where a node's events come from (source_node_id `<node>@<host>`). */
  eventSource: (node: NodeName) => EnvelopeSource
}

/** How each node is built from the config and the shared adapters; a new node adds its line here. */
const nodeFactories: Record<NodeName, (config: BridgeConfig, deps: NodeDeps) => HostedNode> = {
  stamping: (config, deps) =>
    createStampingNode({
      ...deps,
      logger: deps.logger.child({ node: 'stamping' }),
      events: { source: deps.eventSource('stamping'), environment: config.env },
      batchConcurrency: config.batchConcurrency,
      batchMaxItems: config.batchMaxItems,
    }),
  registry: (config, deps) =>
    createRegistryNode({
      ...deps,
      logger: deps.logger.child({ node: 'registry' }),
      events: { source: deps.eventSource('registry'), environment: config.env },
      namespace: config.registryNamespace,
      leaderLeaseMs: config.registryLeaderLeaseSeconds * 1000,
      versionsKept: config.registryVersionsKept,
    }),
}

/** The nodes named by `config.nodes`, wired to the shared adapters. */
export function createNodes(config: BridgeConfig, deps: NodeDeps): HostedNode[] {
  return config.nodes.map((name) => nodeFactories[name](config, deps))
}
