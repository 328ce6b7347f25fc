import { randomUUID } from 'node:crypto'
import type { FastifyPluginAsync } from 'fastify'
import type { WorkflowStep } from '../../core/contracts/schema.ts'
import type { Blake3 } from '../../core/hashing/blake3.ts'
import { Recurring } from '../../core/recurring.ts'
import type { NodeDescription } from '../../core/registry/description.ts'
import type { WorkflowFsm } from '../../core/workflow/fsm.ts'
import { WorkflowLimiter } from '../../core/workflow/limiter.ts'
import type { StampStepName } from '../../core/workflow/plan.ts'
import type { Clock } from '../../ports/clock.ts'
import type { Database } from '../../ports/database.ts'
import type { Subscription } from '../../ports/event-bus.ts'
import type { EventConsumers } from '../../ports/event-consumers.ts'
import type { IntelligenceClient } from '../../ports/intelligence.ts'
import { logRetry, type NodeLogger } from '../../ports/logger.ts'
import type { Outbox } from '../../ports/outbox.ts'
import type { Stamper } from '../../ports/stamper.ts'
import { type WorkflowEventSettings, WorkflowEvents } from './events.ts'
import { workflowRoutes } from './routes.ts'
import { type RecoveryMode, WorkflowService } from './service.ts'
import { stampRequestHandler } from './stamp-requests.ts'
import { WorkflowStore } from './store.ts'

export const defaultNamespace = 'omninode.services.metadata'

export interface OrchestratorNodeDeps {
  db: Database
  blake3: Blake3
  clock: Clock
  logger: NodeLogger
  outbox: Outbox
  consumers: EventConsumers
  stamper: Stamper
  intelligence: IntelligenceClient
  events: WorkflowEventSettings
  /** From the contract: the FSM, each step's settings, the topics it consumes. */
  fsm: WorkflowFsm
  plan: Record<StampStepName, WorkflowStep>
  requestTopics: readonly string[]
  maxConcurrent: number
  maxQueued: number
  maxItems: number
  recovery: RecoveryMode
  /** An owner without a heartbeat for this long is dead: its workflows are taken over. */
  ownerLeaseMs: number
  /** Days finished workflows are kept; 0: forever. */
  retentionDays: number
}

/** How often the pump looks for bus-accepted workflows it was not told about (a safety net). */
const pumpEveryMs = 500
const pruneEveryMs = 10 * 60 * 1000
const dayMs = 24 * 60 * 60 * 1000

/** NodeBridgeOrchestrator: stamp workflows over HTTP and the bus, and recovery at start. */
export function createOrchestratorNode(deps: OrchestratorNodeDeps) {
  const owner = `${deps.events.source.nodeId}/${randomUUID()}`
  const store = new WorkflowStore(deps.db)
  const service = new WorkflowService({
    store,
    stamper: deps.stamper,
    intelligence: deps.intelligence,
    blake3: deps.blake3,
    clock: deps.clock,
    outbox: deps.outbox,
    events: new WorkflowEvents(deps.events, deps.clock),
    fsm: deps.fsm,
    plan: deps.plan,
    limiter: new WorkflowLimiter(deps.maxConcurrent, deps.maxQueued),
    logger: deps.logger,
    owner,
  })
  let subscription: Subscription | undefined
  let timer: NodeJS.Timeout | undefined
  let leaseTimer: NodeJS.Timeout | undefined
  let renewing: Promise<void> | undefined
  const recover = async (leaseMs: number) => {
    const recovered = await service.recover(deps.recovery, leaseMs)
    if (recovered.resumed + recovered.failed > 0)
      deps.logger.info(recovered, 'workflows of a stopped process recovered')
  }
  // the heartbeat renews this process's lease, then takes over what dead processes left
  const renew = () => {
    renewing ??= store
      .heartbeat(owner)
      .then(() => recover(deps.ownerLeaseMs))
      .catch(logRetry(deps.logger, 'workflow lease not renewed; will retry'))
      .finally(() => {
        renewing = undefined
      })
  }
  let pumping: Promise<void> | undefined
  const pump = () => {
    pumping ??= service
      .runPending()
      .catch(logRetry(deps.logger, 'pending workflows not picked up; will retry'))
      .finally(() => {
        pumping = undefined
      })
  }
  // the retention of finished workflows, when configured
  const pruning = new Recurring(
    async (signal) => {
      const before = new Date(deps.clock.now().getTime() - deps.retentionDays * dayMs)
      const deleted = await store.pruneFinished(before, { signal })
      if (deleted > 0)
        deps.logger.info({ deleted, retention_days: deps.retentionDays }, 'finished workflows pruned')
    },
    {
      everyMs: pruneEveryMs,
      atStart: true,
      onError: logRetry(deps.logger, 'finished workflows not pruned; will retry'),
    },
  )
  const routes: FastifyPluginAsync = async (app) => {
    await app.register(workflowRoutes, { service, defaultNamespace, maxItems: deps.maxItems })
  }
  // what the node runtime announces (NODE_INTROSPECTION)
  const description: NodeDescription = {
    nodeType: 'orchestrator',
    capabilities: {
      workflows: ['stamp'],
      steps: Object.keys(deps.plan),
      max_concurrent_workflows: deps.maxConcurrent,
      workflow_queue_limit: deps.maxQueued,
      intelligence: deps.intelligence.kind,
      recovery: deps.recovery,
    },
  }
  return {
    name: 'orchestrator',
    service,
    routes,
    describe: () => description,
    async start() {
      await store.heartbeat(owner)
      // an embedded database has one process (its data dir is locked): every other owner is dead now
      await recover(deps.db.dialect === 'pglite' ? 0 : deps.ownerLeaseMs)
      leaseTimer = setInterval(renew, Math.max(10, Math.floor(deps.ownerLeaseMs / 3))).unref()
      subscription = await deps.consumers.subscribe({
        groupId: 'orchestrator',
        topics: deps.requestTopics,
        handle: stampRequestHandler(service, defaultNamespace, pump),
      })
      // without a bus nothing arrives but over HTTP, which runs its workflows itself
      if (subscription) timer = setInterval(pump, pumpEveryMs).unref()
      if (deps.retentionDays > 0) pruning.start()
    },
    async stop() {
      clearInterval(timer)
      clearInterval(leaseTimer)
      await pruning.stop()
      await subscription?.stop()
      await pumping
      await renewing
      await service.stop()
      // what is left (accepted from the bus, not started) is free for another process at once
      await store.release(owner).catch(() => {})
    },
  }
}
