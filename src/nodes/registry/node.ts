import { randomUUID } from 'node:crypto'
import type { FastifyPluginAsync } from 'fastify'
import { channels, type TopologyVersionObservation } from '../../core/diagnostics.ts'
import type { NodeDescription } from '../../core/registry/description.ts'
import { parseHeartbeat, parseIntrospection, parseTombstone } from '../../core/registry/payloads.ts'
import type { Clock } from '../../ports/clock.ts'
import type { Database } from '../../ports/database.ts'
import type { DeliveredEvent, Subscription } from '../../ports/event-bus.ts'
import type { EventConsumers } from '../../ports/event-consumers.ts'
import type { NodeLogger } from '../../ports/logger.ts'
import type { Outbox } from '../../ports/outbox.ts'
import type { RegistryInput } from './apply.ts'
import { type RegistryEventSettings, RegistryEvents } from './events.ts'
import { LeaderLoop } from './leader-loop.ts'
import { Leadership } from './leadership.ts'
import { registryRoutes } from './routes.ts'
import { RegistryService } from './service.ts'
import { RegistryStore } from './store.ts'
import { TopologyFeed } from './topology-feed.ts'

export interface RegistryNodeDeps {
  db: Database
  clock: Clock
  logger: NodeLogger
  outbox: Outbox
  consumers: EventConsumers
  events: RegistryEventSettings
  /** The one namespace served; undefined: all. */
  namespace: string | undefined
  /** The leader lease, in ms (failover happens within it). */
  leaderLeaseMs: number
  /** Topology versions kept for GET /topology/diffs. */
  versionsKept: number
  /** Tuning for tests. */
  loop?: { versionEveryMs?: number; expireEveryMs?: number }
}

/** Node events applied in one transaction at most (a delivery of one partition). */
const batchSize = 1000

/**
 * A delivery as the service applies it: each event parsed (a bad payload throws, and the bus then
 * delivers the events one by one and dead-letters the bad one), an event delivered twice kept once.
 */
export function toInputs(
  delivered: readonly DeliveredEvent[],
  topics: ReturnType<RegistryEvents['topics']>,
): RegistryInput[] {
  const seen = new Set<string>()
  const inputs: RegistryInput[] = []
  for (const event of delivered) {
    const e = event.envelope
    if (seen.has(e.event_id)) continue
    seen.add(e.event_id)
    const meta = {
      eventId: e.event_id,
      eventAt: new Date(e.event_timestamp),
      correlationId: e.correlation_id,
    }
    if (event.topic === topics.introspection)
      inputs.push({ kind: 'introspection', payload: parseIntrospection(e.payload), meta })
    else if (event.topic === topics.heartbeat)
      inputs.push({ kind: 'heartbeat', payload: parseHeartbeat(e.payload), meta })
    else if (event.topic === topics.tombstone)
      inputs.push({ kind: 'tombstone', payload: parseTombstone(e.payload), meta })
  }
  return inputs
}

/**
 * The NodeBridgeRegistry node: consumes NODE_INTROSPECTION, NODE_HEARTBEAT and NODE_TOMBSTONE in the
 * consumer group `registry` (one per served namespace), keeps node_registrations and their leases,
 * competes for leadership, and, while leader, versions the topology and expires leases.
 */
export function createRegistryNode(deps: RegistryNodeDeps) {
  const scope = deps.namespace ?? '*'
  const store = new RegistryStore(deps.db)
  const events = new RegistryEvents(deps.events, deps.clock)
  const leadership = new Leadership(deps.db, {
    name: `registry:${scope}`,
    holder: `${deps.events.source.nodeId}/${process.pid}/${randomUUID().slice(0, 8)}`,
    ttlMs: deps.leaderLeaseMs,
  })
  const feed = new TopologyFeed(store)
  let loop: LeaderLoop | undefined
  const service = new RegistryService({
    db: deps.db,
    store,
    events,
    outbox: deps.outbox,
    leadership,
    namespace: deps.namespace,
    versionsKept: deps.versionsKept,
    onChange: () => loop?.wake(),
  })
  loop = new LeaderLoop(leadership, service, deps.logger, {
    leaseMs: deps.leaderLeaseMs,
    ...deps.loop,
    onVersion: (version) => {
      feed.wake()
      if (channels.topologyVersion.hasSubscribers)
        channels.topologyVersion.publish({ version, changes: 0 } satisfies TopologyVersionObservation)
    },
  })
  const topics = events.topics()
  let subscription: Subscription | undefined

  const routes: FastifyPluginAsync = async (app) => {
    await app.register(registryRoutes, { service, feed })
  }
  const description: NodeDescription = {
    nodeType: 'effect',
    nodeRole: 'registry',
    capabilities: {
      discovery: true,
      topology_stream: true,
      prometheus_sd: true,
      served_namespace: deps.namespace ?? '*',
    },
  }

  return {
    name: 'registry',
    service,
    leadership,
    loop,
    routes,
    describe: () => description,
    async start() {
      subscription = await deps.consumers.subscribeBatch({
        groupId: `registry:${scope}`,
        topics: [topics.introspection, topics.heartbeat, topics.tombstone],
        maxBatchSize: batchSize,
        handleBatch: async (delivered) => {
          await service.apply(toInputs(delivered, topics))
        },
      })
      loop.start()
      // Rebuild from the answers: every node announces itself again (without a bus nobody would hear it)
      if (subscription) await service.requestIntrospection('registry_started')
      else deps.logger.warn({}, 'registry without an event bus: only POST /nodes registers nodes')
    },
    async stop() {
      await subscription?.stop()
      await loop.stop()
      await feed.close()
    },
  }
}
