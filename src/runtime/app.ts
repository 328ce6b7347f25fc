import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import Fastify, { type FastifyBaseLogger, type FastifyInstance, LogController } from 'fastify'
import { migrate } from '../adapters/db/migrate.ts'
import { type Blake3, loadBlake3 } from '../core/hashing/blake3.ts'
import { type Clock, systemClock } from '../ports/clock.ts'
import type { Database } from '../ports/database.ts'
import type { EventBus } from '../ports/event-bus.ts'
import { openBus } from './bus.ts'
import type { BridgeConfig } from './config/load.ts'
import { checkDatabase, openDatabase, prepareNewDataDir, protectDatabase } from './database.ts'
import { EventBackbone, eventSource } from './events/backbone.ts'
import type { HostedNode } from './hosted-node.ts'
import { installCompression } from './http/compression.ts'
import { correlationIdOf } from './http/correlation.ts'
import { answerFrameworkError, installErrorHandling, maxParamLength } from './http/error-handler.ts'
import { healthRoutes } from './http/health-routes.ts'
import { typeboxValidatorCompiler } from './http/validator-compiler.ts'
import type { Logger } from './logger.ts'
import { BridgeMetrics } from './metrics.ts'
import { NodeLifecycle } from './node-lifecycle.ts'
import { createNodes, loadContracts, type NodeContracts } from './nodes.ts'
import { bridgeVersion } from './version.ts'

export interface Bridge {
  app: FastifyInstance
  db: Database
  blake3: Blake3
  metrics: BridgeMetrics
  events: EventBackbone
  /** The hosted nodes' registration side: introspection, heartbeats, tombstones. */
  lifecycle: NodeLifecycle
  /**
   * Announces the hosted nodes as reachable at `url` (NODE_INTROSPECTION) and starts their heartbeats;
   * runServer calls it once the server listens. A bridge never announced stays unknown to registries.
   */
  announce(url: string): Promise<void>
  /** Stops accepting, drains in-flight requests, stops the nodes, closes the database. Idempotent. */
  close(): Promise<void>
}

export interface BridgeOverrides {
  /** An already open database (tests use in-memory PGlite); the bridge then closes it too. */
  db?: Database
  clock?: Clock
  /**
   * The event bus instead of the configured one (openBus); the bridge closes it too. `null`: no bus at
   * all; the bridge still runs, and nodes' events wait in the outbox until a process with a bus
   * publishes them.
   */
  bus?: EventBus | null
  /** Outbox relay tuning (tests). */
  relay?: { pollIntervalMs?: number; initialBackoffMs?: number; maxBackoffMs?: number }
}

/**
 * The composition root: the one place where adapters meet nodes. It reads every node's contract first
 * (a bad one is a ContractError naming the file and the field), and fails fast when the database does
 * not answer at start (an UnavailableError naming DATABASE_URL): migrations must run before any node
 * starts. Once running, the bridge rides out outages on its own (503 + Retry-After, readiness 503).
 */
export async function createBridge(
  config: BridgeConfig,
  logger: Logger,
  overrides: BridgeOverrides = {},
): Promise<Bridge> {
  let contracts: NodeContracts
  try {
    contracts = loadContracts(config)
  } catch (err) {
    await overrides.db?.close().catch(() => {})
    throw err
  }
  const metrics = new BridgeMetrics()
  if (!overrides.db) {
    try {
      await prepareNewDataDir(config, logger)
    } catch (err) {
      metrics.close()
      throw err
    }
  }
  const db = protectDatabase(overrides.db ?? (await openDatabase(config, { logger, metrics })), {
    logger,
    metrics,
  })
  let events: EventBackbone | undefined
  let bus: EventBus | undefined
  try {
    await checkDatabase(db, config)
    const report = await migrate(db)
    if (report.steps.length) logger.info({ from: report.from, to: report.to }, 'database migrated')
    const blake3 = await loadBlake3(config.hashBackend)
    metrics.watchPool(db)
    const clock = overrides.clock ?? systemClock
    bus =
      overrides.bus === undefined
        ? await openBus(config, { logger, source: eventSource(config, 'bus') })
        : (overrides.bus ?? undefined)
    events = new EventBackbone({
      config,
      db,
      bus,
      clock,
      logger: logger.child({ component: 'events' }),
      ...(overrides.relay ? { relay: overrides.relay } : {}),
    })
    const backbone = events
    const nodes = createNodes(
      config,
      {
        db,
        blake3,
        clock,
        logger,
        outbox: backbone.outbox,
        consumers: backbone,
        eventSource: (name) => backbone.source(name),
      },
      contracts,
    )
    await backbone.start()
    for (const node of nodes) await node.start?.()

    const inFlight = { count: 0 }
    const lifecycle = new NodeLifecycle({
      nodes,
      outbox: backbone.outbox,
      consumers: backbone,
      clock,
      logger: logger.child({ component: 'node-lifecycle' }),
      config,
      source: (name) => backbone.source(name),
      activeOperations: () => inFlight.count,
      flush: () => backbone.flush(2000),
    })
    const app = await buildHttp(config, logger, { db, metrics, blake3, nodes, events: backbone, inFlight })
    let closing: Promise<void> | undefined
    const close = () => {
      closing ??= (async () => {
        await app.close()
        await lifecycle.stop()
        // before the nodes' consumers stop: the in-process bus has the relay wait for them
        await backbone.stopRelay()
        for (const node of [...nodes].reverse()) await node.stop?.()
        await backbone.stop()
        await bus?.close()
        metrics.close()
        await db.close()
      })()
      return closing
    }
    return {
      app,
      db,
      blake3,
      metrics,
      events: backbone,
      lifecycle,
      announce: (url) => lifecycle.start(url),
      close,
    }
  } catch (err) {
    await events?.stop().catch(() => {})
    await bus?.close().catch(() => {})
    await db.close().catch(() => {})
    metrics.close()
    throw err
  }
}

async function buildHttp(
  config: BridgeConfig,
  logger: Logger,
  deps: {
    db: Database
    metrics: BridgeMetrics
    blake3: Blake3
    nodes: HostedNode[]
    events: EventBackbone
    /** Requests in flight (heartbeats report it). */
    inFlight: { count: number }
  },
): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: logger as FastifyBaseLogger,
    // Requests are counted and timed by the metrics hook; one log line each would cost more than it tells.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: config.bodyLimitBytes,
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    requestIdHeader: false,
    genReqId: correlationIdOf,
    routerOptions: { maxParamLength },
    frameworkErrors: answerFrameworkError,
  }).withTypeProvider<TypeBoxTypeProvider>()
  app.setValidatorCompiler(typeboxValidatorCompiler)
  // Bodies are JSON (POST /hash alone takes any type, in a context of its own): text is refused with
  // a 415 naming its type, instead of arriving as a string that fails as "body must be object".
  app.removeContentTypeParser('text/plain')

  installErrorHandling(app)
  await installCompression(app)
  app.addHook('onRequest', async (request, reply) => {
    deps.inFlight.count++
    reply.header('x-correlation-id', request.id)
  })
  app.addHook('onResponse', async (request, reply) => {
    deps.inFlight.count--
    const route = request.routeOptions.url ?? 'unmatched'
    deps.metrics.httpRequests.inc({ route, method: request.method, status: String(reply.statusCode) })
    deps.metrics.httpDuration.observe({ route, method: request.method }, reply.elapsedTime / 1000)
  })

  await app.register(swagger, {
    openapi: {
      info: {
        title: 'OmniNode Bridge',
        version: bridgeVersion,
        description:
          'BLAKE3 metadata stamping, validation and storage. Every response is a unified response.',
      },
    },
  })
  await app.register(swaggerUi, { routePrefix: '/docs' })

  await app.register(healthRoutes, {
    db: deps.db,
    metrics: deps.metrics,
    version: bridgeVersion,
    nodes: deps.nodes.map((n) => n.name),
    hashBackend: deps.blake3.backend,
    startedAt: Date.now(),
    checks: { events: () => deps.events.health() },
  })
  for (const node of deps.nodes) await app.register(node.routes)
  await app.register(deps.events.routes)
  await app.ready()
  return app
}
