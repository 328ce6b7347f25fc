import type { ServerResponse } from 'node:http'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { Static } from 'typebox'
import { asCorrelationId } from '../../core/events/envelope.ts'
import type { TopologyDiff } from '../../core/registry/payloads.ts'
import { ok, successSchema } from '../../core/response.ts'
import { prometheusTargets } from './prometheus-sd.ts'
import * as S from './schemas.ts'
import type { RegistryService } from './service.ts'
import type { Registration } from './store.ts'
import type { TopologyFeed } from './topology-feed.ts'

export interface RegistryRoutesOptions {
  service: RegistryService
  feed: TopologyFeed
}

const tag = { tags: ['registry'] }

/** The registry's HTTP face: discovery, registration, the topology and its stream, Prometheus SD. */
export const registryRoutes: FastifyPluginAsyncTypebox<RegistryRoutesOptions> = async (app, opts) => {
  const { service, feed } = opts
  const streams = new Set<ServerResponse>()
  // Open streams never go idle: end them first, or a graceful stop would wait for them
  app.addHook('preClose', async () => {
    for (const s of streams) s.end()
  })

  app.post(
    '/nodes',
    {
      schema: {
        ...tag,
        summary: 'Register a node (its introspection payload); 403 outside the served namespace',
        body: S.RegisterBody,
        response: { 200: successSchema(S.RegisterData) },
      },
    },
    async (request, reply) => {
      const { outcome, node } = await service.register(request.body, {
        eventId: request.id,
        eventAt: new Date(),
        correlationId: asCorrelationId(request.id),
      })
      return ok(reply, { outcome, node: view(node) })
    },
  )

  app.get(
    '/nodes',
    {
      schema: {
        ...tag,
        summary: 'Live nodes: healthy first, then by latest heartbeat',
        querystring: S.NodesQuery,
        response: { 200: successSchema(S.NodesData) },
      },
    },
    async (request, reply) => {
      const q = request.query
      const nodes = await service.list({
        namespace: q.namespace,
        type: q.type,
        role: q.role,
        health: q.health,
        capability: q.capability,
        limit: q.limit ?? 1000,
      })
      return ok(reply, { count: nodes.length, nodes: nodes.map(view) })
    },
  )

  app.get(
    '/nodes/:node_id',
    {
      schema: {
        ...tag,
        summary: 'One node (also a removed one, with its removal)',
        params: S.NodeParams,
        response: { 200: successSchema(S.NodeView) },
      },
    },
    async (request, reply) => ok(reply, view(await service.find(request.params.node_id))),
  )

  app.delete(
    '/nodes/:node_id',
    {
      schema: {
        ...tag,
        summary: 'Deregister a node (manual_deregistration, with its NODE_TOMBSTONE)',
        params: S.NodeParams,
        response: { 200: successSchema(S.NodeView) },
      },
    },
    async (request, reply) => {
      const correlation = asCorrelationId(request.id)
      return ok(reply, view(await service.deregister(request.params.node_id, correlation)))
    },
  )

  app.get(
    '/topology',
    {
      schema: {
        ...tag,
        summary: 'The topology snapshot and its version',
        response: { 200: successSchema(S.TopologyData) },
      },
    },
    async (_request, reply) => ok(reply, await service.snapshot()),
  )

  app.get(
    '/topology/diffs',
    {
      schema: {
        ...tag,
        summary: 'Topology diffs after version `since`; 410 when they are no longer kept',
        querystring: S.DiffsQuery,
        response: { 200: successSchema(S.DiffsData) },
      },
    },
    async (request, reply) => {
      const { since, limit } = request.query
      return ok(reply, { since, ...(await service.diffsSince(since, limit ?? 1000)) })
    },
  )

  app.get(
    '/topology/stream',
    {
      schema: {
        ...tag,
        summary:
          'Server-sent events: each topology diff after `since` (or Last-Event-ID, else the current version), ' +
          'as `event: diff`, `id: <version>`; `event: resync` when they are no longer kept',
        querystring: S.StreamQuery,
      },
    },
    async (request, reply) => {
      const lastEventId = Number(request.headers['last-event-id'])
      const since =
        request.query.since ??
        (Number.isSafeInteger(lastEventId) && lastEventId >= 0
          ? lastEventId
          : (await service.snapshot()).topology_version)
      reply.hijack()
      const res = reply.raw
      res.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache',
        connection: 'keep-alive',
        'x-correlation-id': request.id,
      })
      res.write(`retry: 1000\n: topology after version ${since}\n\n`)
      streams.add(res)
      const keepAlive = setInterval(() => res.write(': keep-alive\n\n'), 15_000).unref()
      const unsubscribe = feed.subscribe(since, {
        diff: (d: TopologyDiff) => {
          res.write(`event: diff\nid: ${d.topology_version}\ndata: ${JSON.stringify(d)}\n\n`)
        },
        gone: (oldest) => {
          res.end(`event: resync\ndata: ${JSON.stringify({ since, oldest_kept: oldest })}\n\n`)
        },
      })
      res.on('close', () => {
        clearInterval(keepAlive)
        unsubscribe()
        streams.delete(res)
      })
    },
  )

  app.get(
    '/sd/prometheus',
    {
      schema: {
        ...tag,
        summary:
          'Prometheus HTTP service discovery: a bare JSON array of target groups (the format Prometheus reads, ' +
          'not a unified response)',
        response: { 200: S.TargetGroups },
      },
    },
    async () => prometheusTargets(await service.list({ limit: 100_000 })),
  )
}

function view(r: Registration): Static<typeof S.NodeView> {
  return {
    node_id: r.node_id,
    namespace: r.namespace,
    node_type: r.node_type,
    node_role: r.node_role,
    node_version: r.node_version,
    capabilities: r.capabilities,
    endpoints: r.endpoints,
    metadata: r.metadata,
    health_status: r.health_status,
    lease_ttl_seconds: r.lease_ttl_seconds,
    lease_expires_at: r.lease_expires_at.toISOString(),
    epoch: r.epoch,
    last_heartbeat: r.last_heartbeat.toISOString(),
    registered_at: r.registered_at.toISOString(),
    removed_at: r.removed_at?.toISOString() ?? null,
    removal_reason: r.removal_reason,
  }
}
