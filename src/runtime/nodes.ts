import { consumedTopicOf, publishedTopics } from '../core/contracts/parse.ts'
import type { NodeContract } from '../core/contracts/schema.ts'
import type { EnvelopeSource } from '../core/events/envelope.ts'
import type { Environment } from '../core/events/topics.ts'
import type { Blake3 } from '../core/hashing/blake3.ts'
import { createReducerNode } from '../nodes/reducer/node.ts'
import type { RegistryEventSettings } from '../nodes/registry/events.ts'
import { createRegistryNode } from '../nodes/registry/node.ts'
import { createStampingNode } from '../nodes/stamping/node.ts'
import type { Clock } from '../ports/clock.ts'
import type { Database } from '../ports/database.ts'
import type { EventConsumers } from '../ports/event-consumers.ts'
import type { Outbox } from '../ports/outbox.ts'
import type { NodeName } from './config/keys.ts'
import type { BridgeConfig } from './config/load.ts'
import { loadNodeContract } from './contracts.ts'
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
const nodeFactories: Record<
  NodeName,
  (config: BridgeConfig, deps: NodeDeps, contract: NodeContract) => HostedNode
> = {
  stamping: (config, deps, contract) =>
    createStampingNode({
      ...deps,
      logger: deps.logger.child({ node: 'stamping' }),
      events: {
        source: deps.eventSource('stamping'),
        environment: config.env,
        topics: publishedTopics(contract),
      },
      batchConcurrency: config.batchConcurrency,
      batchMaxItems: config.batchMaxItems,
    }),
  registry: (config, deps, contract) =>
    createRegistryNode({
      ...deps,
      logger: deps.logger.child({ node: 'registry' }),
      events: registryEventSettings(contract, deps.eventSource('registry'), config.env),
      namespace: config.registryNamespace,
      leaderLeaseMs: config.registryLeaderLeaseSeconds * 1000,
      versionsKept: config.registryVersionsKept,
    }),
  reducer: (config, deps, contract) =>
    createReducerNode({
      ...deps,
      logger: deps.logger.child({ node: 'reducer' }),
      events: {
        source: deps.eventSource('reducer'),
        environment: config.env,
        topics: publishedTopics(contract),
      },
      contract,
    }),
}

/** The registry's event settings from its contract (also for the registry bench, which builds registries). */
export function registryEventSettings(
  contract: NodeContract,
  source: EnvelopeSource,
  environment: Environment,
): RegistryEventSettings {
  return {
    source,
    environment,
    published: publishedTopics(contract),
    consumed: {
      introspection: consumedTopicOf(contract, 'NODE_INTROSPECTION'),
      heartbeat: consumedTopicOf(contract, 'NODE_HEARTBEAT'),
      tombstone: consumedTopicOf(contract, 'NODE_TOMBSTONE'),
    },
  }
}

/** The contracts of the nodes named by `config.nodes`: read first, so a bad one stops start-up early. */
export function loadContracts(config: BridgeConfig): NodeContracts {
  return new Map(config.nodes.map((name) => [name, loadNodeContract(name, config.contractDir)]))
}

export type NodeContracts = ReadonlyMap<NodeName, NodeContract>

/** The nodes named by `config.nodes`, each driven by its contract and wired to the shared adapters. */
export function createNodes(config: BridgeConfig, deps: NodeDeps, contracts: NodeContracts): HostedNode[] {
  return config.nodes.map((name) => {
    const contract = contracts.get(name)
    if (!contract) throw new Error(`no contract loaded for node ${name}`)
    return nodeFactories[name](config, deps, contract)
  })
}
