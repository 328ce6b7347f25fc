import type { FastifyPluginAsync } from 'fastify'
import { checkBatchFsm } from '../../core/aggregation/batch-fsm.ts'
import { aggregationSettings } from '../../core/aggregation/settings.ts'
import { consumedTopics } from '../../core/contracts/parse.ts'
import type { NodeContract } from '../../core/contracts/schema.ts'
import { topicName } from '../../core/events/topics.ts'
import { Recurring } from '../../core/recurring.ts'
import type { Clock } from '../../ports/clock.ts'
import type { Database } from '../../ports/database.ts'
import type { Subscription } from '../../ports/event-bus.ts'
import type { EventConsumers } from '../../ports/event-consumers.ts'
import { logRetry, type NodeLogger } from '../../ports/logger.ts'
import type { Outbox } from '../../ports/outbox.ts'
import { type ReducerEventSettings, ReducerEvents } from './events.ts'
import { reducerRoutes } from './routes.ts'
import { ReducerService } from './service.ts'
import { ReducerStore } from './store.ts'

/** The consumer group every reducer instance joins: together they count each event once. */
export const reducerGroup = 'omninode-bridge.reducer'
/** Dedup marks are kept as long as the dead letters that could be replayed (30 days). */
const dedupRetentionMs = 30 * 24 * 60 * 60 * 1000
const pruneEveryMs = 10 * 60 * 1000

export interface ReducerNodeDeps {
  db: Database
  clock: Clock
  logger: NodeLogger
  outbox: Outbox
  consumers: EventConsumers
  /** Where its events come from, which environment's topics, and the contract's published events. */
  events: ReducerEventSettings
  contract: NodeContract
  /** Delivery retries before a bad event is dead-lettered. @default 5 */
  maxAttempts?: number
}

/**
 * NodeBridgeReducer: consumes its contract's consumed events in batches of the contract's
 * batch_size through the consumer pipeline, counts them into bridge states (service.ts), and serves
 * GET /bridge-states. Settings, FSM and topics all come from the contract.
 */
export function createReducerNode(deps: ReducerNodeDeps) {
  const { contract } = deps
  const settings = aggregationSettings(contract)
  const store = new ReducerStore(deps.db)
  const service = new ReducerService({
    store,
    outbox: deps.outbox,
    events: new ReducerEvents(deps.events, deps.clock),
    settings,
    fsm: checkBatchFsm(contract),
    clock: deps.clock,
    logger: deps.logger,
    group: reducerGroup,
  })
  const topics = consumedTopics(contract).map((key) => topicName(deps.events.environment, key))
  let subscription: Subscription | undefined
  const pruning = new Recurring((signal) => store.pruneDedup(dedupRetentionMs, { signal }), {
    everyMs: pruneEveryMs,
    onError: logRetry(deps.logger, 'reducer dedup marks not pruned; will retry'),
  })
  const routes: FastifyPluginAsync = async (app) => {
    await app.register(reducerRoutes, {
      service,
      windowSizeMs: settings.windowSizeMs,
      customGroupBy: settings.types.has('custom') ? settings.customGroupBy : undefined,
    })
  }
  return {
    name: 'reducer',
    service,
    routes,
    async start() {
      subscription = await deps.consumers.subscribeBatch({
        groupId: reducerGroup,
        topics,
        maxBatchSize: settings.batchSize,
        ...(deps.maxAttempts === undefined ? {} : { maxAttempts: deps.maxAttempts }),
        handleBatch: async (events) => {
          await service.handleBatch(events)
        },
      })
      pruning.start()
    },
    async stop() {
      // a prune in flight ends between two batches: it must not outlive the database
      await pruning.stop()
      await subscription?.stop()
    },
  }
}
