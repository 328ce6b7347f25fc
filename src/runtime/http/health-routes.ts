import type { FastifyInstance } from 'fastify'
import Type from 'typebox'
import { roundMs } from '../../core/duration.ts'
import { ok, successSchema } from '../../core/response.ts'
import type { Database } from '../../ports/database.ts'
import type { BridgeMetrics } from '../metrics.ts'
import { sendError } from './error-handler.ts'

export interface HealthDeps {
  db: Database
  metrics: BridgeMetrics
  version: string
  nodes: readonly string[]
  hashBackend: string
  startedAt: number
  /** More components, each a check that never throws (the event backbone's). */
  checks?: Record<string, () => Promise<ComponentHealth>>
}

export interface ComponentHealth {
  /** `down` makes the whole health degraded. */
  status: string
  latency_ms?: number
  detail?: string
}

const Component = Type.Object({
  status: Type.String(),
  latency_ms: Type.Optional(Type.Number()),
  detail: Type.Optional(Type.String()),
})
const HealthData = Type.Object({
  status: Type.Union([Type.Literal('healthy'), Type.Literal('degraded')]),
  version: Type.String(),
  uptime_seconds: Type.Number(),
  nodes: Type.Array(Type.String()),
  components: Type.Record(Type.String(), Component),
})

/**
 * Liveness says the process answers; readiness says it can do its work (the database answers);
 * /health is the full picture for people. Readiness follows the database on its own, both ways.
 */
export async function healthRoutes(app: FastifyInstance, deps: HealthDeps): Promise<void> {
  app.get(
    '/health',
    { schema: { tags: ['health'], response: { 200: successSchema(HealthData) } } },
    async (_request, reply) => {
      const db = await deps.db.health()
      deps.metrics.dbUp.set(db.ok ? 1 : 0)
      const extra = Object.fromEntries(
        await Promise.all(
          Object.entries(deps.checks ?? {}).map(async ([name, check]) => [name, await check()] as const),
        ),
      )
      const healthy = db.ok && Object.values(extra).every((c) => c.status !== 'down')
      return ok(reply, {
        status: healthy ? 'healthy' : 'degraded',
        version: deps.version,
        uptime_seconds: Math.round((Date.now() - deps.startedAt) / 1000),
        nodes: [...deps.nodes],
        components: {
          database: {
            status: db.ok ? 'up' : 'down',
            latency_ms: roundMs(db.latencyMs),
            ...(db.error ? { detail: db.error } : { detail: deps.db.dialect }),
          },
          hashing: { status: 'up', detail: `blake3 ${deps.hashBackend}` },
          ...extra,
        },
      })
    },
  )

  app.get(
    '/health/live',
    {
      schema: {
        tags: ['health'],
        response: { 200: successSchema(Type.Object({ status: Type.Literal('alive') })) },
      },
    },
    async (_request, reply) => ok(reply, { status: 'alive' as const }),
  )

  app.get(
    '/health/ready',
    {
      schema: {
        tags: ['health'],
        response: { 200: successSchema(Type.Object({ status: Type.Literal('ready') })) },
      },
    },
    async (request, reply) => {
      const db = await deps.db.health()
      deps.metrics.dbUp.set(db.ok ? 1 : 0)
      if (!db.ok) {
        reply.header('retry-after', '1')
        return sendError(
          request,
          reply,
          503,
          'ONEX_CORE_050_SERVICE_UNAVAILABLE',
          'the database is unavailable',
          {
            database: db.error ?? 'down',
          },
        )
      }
      return ok(reply, { status: 'ready' as const })
    },
  )

  app.get('/metrics', { schema: { tags: ['health'], produces: ['text/plain'] } }, async (_req, reply) => {
    reply.type(deps.metrics.registry.contentType)
    return deps.metrics.registry.metrics()
  })
}
