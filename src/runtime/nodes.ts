import { LocalAnalyser } from '../adapters/intelligence/local-analyser.ts'
import { OnexTreeClient } from '../adapters/intelligence/onextree-client.ts'
import { consumedTopicOf, publishedTopics } from '../core/contracts/parse.ts'
import type { NodeContract } from '../core/contracts/schema.ts'
import type { EnvelopeSource } from '../core/events/envelope.ts'
import { type Environment, topicName } from '../core/events/topics.ts'
import type { Blake3 } from '../core/hashing/blake3.ts'
import { WorkflowFsm } from '../core/workflow/fsm.ts'
import { stampWorkflowPlan } from '../core/workflow/plan.ts'
import { createOrchestratorNode } from '../nodes/orchestrator/node.ts'
import { createReducerNode } from '../nodes/reducer/node.ts'
import type { RegistryEventSettings } from '../nodes/registry/events.ts'
import { createRegistryNode } from '../nodes/registry/node.ts'
import { createStampingNode } from '../nodes/stamping/node.ts'
import type { Clock } from '../ports/clock.ts'
import type { Database } from '../ports/database.ts'
import type { EventConsumers } from '../ports/event-consumers.ts'
import type { IntelligenceClient } from '../ports/intelligence.ts'
import type { Outbox } from '../ports/outbox.ts'
import type { NodeName } from './config/keys.ts'
import type { BridgeConfig } from './config/load.ts'
import { loadNodeContract } from './contracts.ts'
import type { HostedNode } from './hosted-node.ts'
import type { Logger } from './logger.ts'
import { createStamper } from './stamper.ts'

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
  (config: BridgeConfig, deps: NodeDeps, contract: NodeContract, contracts: NodeContracts) => HostedNode
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
      hashMetricsRetentionDays: config.hashMetricsRetentionDays,
    }),
  orchestrator: (config, deps, contract, contracts) => {
    const logger = deps.logger.child({ node: 'orchestrator' })
    return createOrchestratorNode({
      ...deps,
      logger,
      // the stamping node's service makes the workflow's stamps, hosted here or not (ports/stamper.ts)
      stamper: createStamper({
        ...deps,
        source: deps.eventSource('stamping'),
        environment: config.env,
        stampingContract: contracts.get('stamping')!,
      }),
      intelligence: intelligenceClient(config, logger),
      events: {
        source: deps.eventSource('orchestrator'),
        environment: config.env,
        topics: publishedTopics(contract),
      },
      fsm: new WorkflowFsm(contract),
      plan: stampWorkflowPlan(contract),
      requestTopics: [topicName(config.env, consumedTopicOf(contract, 'METADATA_STAMP_REQUEST'))],
      maxConcurrent: config.maxConcurrentWorkflows,
      maxQueued: config.workflowQueueLimit,
      maxItems: config.batchMaxItems,
      recovery: config.workflowRecovery,
      ownerLeaseMs: config.workflowOwnerLeaseMs,
      retentionDays: config.workflowRetentionDays,
    })
  },
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

/** The built-in local analyser, or OnexTree (falling back to it) when `onextree_url` is set. */
function intelligenceClient(config: BridgeConfig, logger: Logger): IntelligenceClient {
  const local = new LocalAnalyser()
  if (!config.onextreeUrl) return local
  return new OnexTreeClient({
    url: config.onextreeUrl,
    timeoutMs: config.onextreeTimeoutMs,
    cacheTtlMs: config.onextreeCacheTtlMs,
    failureThreshold: config.onextreeFailureThreshold,
    halfOpenAfterMs: config.onextreeHalfOpenMs,
    local,
    onCircuit: (state) =>
      logger[state === 'open' ? 'warn' : 'info'](
        { circuit: state },
        `OnexTree circuit ${state}${state === 'open' ? ': the local analyser answers' : ''}`,
      ),
  })
}

/**
 * The contracts of the nodes named by `config.nodes` (and of the stamping node whenever the
 * orchestrator is hosted: its stamps are the stamping node's): read first, so a bad one stops start-up
 * early.
 */
export function loadContracts(config: BridgeConfig): NodeContracts {
  const names = new Set<NodeName>(config.nodes)
  if (names.has('orchestrator')) names.add('stamping')
  return new Map([...names].map((name) => [name, loadNodeContract(name, config.contractDir)]))
}

export type NodeContracts = ReadonlyMap<NodeName, NodeContract>

/** The nodes named by `config.nodes`, each driven by its contract and wired to the shared adapters. */
export function createNodes(config: BridgeConfig, deps: NodeDeps, contracts: NodeContracts): HostedNode[] {
  return config.nodes.map((name) => {
    const contract = contracts.get(name)
    if (!contract) throw new Error(`no contract loaded for node ${name}`)
    return nodeFactories[name](config, deps, contract, contracts)
  })
}
