import type { FastifyPluginAsync } from 'fastify'
import type { Blake3 } from '../../core/hashing/blake3.ts'
import type { NodeDescription } from '../../core/registry/description.ts'
import type { Clock } from '../../ports/clock.ts'
import type { Database } from '../../ports/database.ts'
import { logRetry, type NodeLogger } from '../../ports/logger.ts'
import type { Outbox } from '../../ports/outbox.ts'
import { type StampingEventSettings, StampingEvents } from './events.ts'
import { HashMetricsRecorder } from './hash-metrics-recorder.ts'
import { stampingRoutes } from './routes.ts'
import { StampingService } from './service.ts'
import { StampStore } from './store.ts'

export const defaultNamespace = 'omninode.services.metadata'

export interface StampingNodeDeps {
  db: Database
  blake3: Blake3
  clock: Clock
  logger: NodeLogger
  outbox: Outbox
  /** Where its events come from (source_node_id, version) and which environment's topics they go to. */
  events: StampingEventSettings
  batchConcurrency: number
  batchMaxItems: number
  /** Days of hash timings kept in hash_metrics. */
  hashMetricsRetentionDays: number
}

/** The MetadataStampingService node: its service, its HTTP face, and its background work. */
export function createStampingNode(deps: StampingNodeDeps) {
  const service = new StampingService({
    store: new StampStore(deps.db),
    blake3: deps.blake3,
    clock: deps.clock,
    outbox: deps.outbox,
    events: new StampingEvents(deps.events, deps.clock),
    options: { batchConcurrency: deps.batchConcurrency },
  })
  const recorder = new HashMetricsRecorder(deps.db, {
    retentionDays: deps.hashMetricsRetentionDays,
    onError: logRetry(deps.logger, 'hash metrics not written; will retry'),
    onDropped: (partitions) =>
      deps.logger.info(
        { partitions, retention_days: deps.hashMetricsRetentionDays },
        'old hash_metrics partitions dropped',
      ),
  })
  const routes: FastifyPluginAsync = async (app) => {
    await app.register(stampingRoutes, { service, defaultNamespace, batchMaxItems: deps.batchMaxItems })
  }
  const description: NodeDescription = {
    nodeType: 'effect',
    capabilities: {
      hash_backend: deps.blake3.backend,
      stamp_types: ['lightweight', 'rich', 'sidecar'],
      operations: ['hash', 'stamp', 'validate', 'batch', 'validate-protocol'],
      batch_max_items: deps.batchMaxItems,
    },
  }
  return {
    name: 'stamping',
    service,
    routes,
    describe: () => description,
    start: () => recorder.start(),
    stop: () => recorder.stop(),
  }
}
