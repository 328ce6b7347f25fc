import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { Static } from 'typebox'
import { ok, successSchema } from '../../core/response.ts'
import * as S from './schemas.ts'
import type { ReducerService } from './service.ts'
import type { StoredBridgeState } from './store.ts'

export interface ReducerRoutesOptions {
  service: ReducerService
  windowSizeMs: number
  customGroupBy: string | undefined
}

const tag = { tags: ['reducer'] }

/** The reducer's HTTP face: the bridge states. No logic lives here. */
export const reducerRoutes: FastifyPluginAsyncTypebox<ReducerRoutesOptions> = async (app, opts) => {
  const { service } = opts
  const view = (s: StoredBridgeState): Static<typeof S.BridgeStateData> => ({
    namespace: s.namespace,
    item_count: s.item_count,
    stamp_count: s.stamp_count,
    restamp_count: s.restamp_count,
    total_size_bytes: s.total_size_bytes,
    unique_file_types: Object.keys(s.file_types).length,
    file_types: s.file_types,
    size_buckets: s.size_buckets,
    custom: { group_by: opts.customGroupBy ?? null, groups: s.custom },
    workflows: s.workflows,
    time_windows: s.time_windows,
    window: {
      start: new Date(s.window_start).toISOString(),
      end: new Date(s.window_end).toISOString(),
      size_ms: opts.windowSizeMs,
    },
    first_event_at: new Date(s.first_at).toISOString(),
    last_event_at: new Date(s.last_at).toISOString(),
    items_per_second: s.items_per_second,
    batch_count: s.batch_count,
    version: s.version,
    updated_at: s.updated_at,
  })

  app.get(
    '/bridge-states',
    {
      schema: {
        ...tag,
        summary: 'Every bridge state, by namespace, and the reducer group watermarks',
        response: { 200: successSchema(S.BridgeStatesData) },
      },
    },
    async (_request, reply) => {
      const { states, watermarks } = await service.list()
      return ok(reply, { count: states.length, states: states.map(view), watermarks })
    },
  )

  app.get(
    '/bridge-states/:namespace',
    {
      schema: {
        ...tag,
        summary: 'The bridge state of one namespace (404 when nothing was counted in it)',
        params: S.NamespaceParams,
        response: { 200: successSchema(S.BridgeStateData) },
      },
    },
    async (request, reply) => ok(reply, view(await service.get(request.params.namespace))),
  )
}
