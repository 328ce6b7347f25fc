import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { ok, successSchema } from '../../core/response.ts'
import * as S from './schemas.ts'
import type { EventTracer } from './tracer.ts'

const tag = { tags: ['events'] }

/** The event tracer's HTTP face: parse, call the tracer, shape the answer. */
export const eventRoutes: FastifyPluginAsyncTypebox<{ tracer: EventTracer }> = async (app, { tracer }) => {
  app.get(
    '/events',
    {
      schema: {
        ...tag,
        summary: 'Published, consumed and dead-lettered events, by correlation, session, topic or direction',
        querystring: S.EventsQuery,
        response: { 200: successSchema(S.EventsData) },
      },
    },
    async (request, reply) => {
      const events = await tracer.list({ ...request.query, limit: request.query.limit ?? 100 })
      return ok(reply, { count: events.length, events })
    },
  )

  app.get(
    '/events/sessions/:session_id',
    {
      schema: {
        ...tag,
        summary: "A session's timeline: its events in time order, each step's duration, failures",
        params: S.SessionParams,
        querystring: S.SessionQuery,
        response: { 200: successSchema(S.SessionData) },
      },
    },
    async (request, reply) => {
      const timeline = await tracer.session(request.params.session_id, request.query.limit ?? 1000)
      const steps = timeline.steps.map(({ entry, since_start_ms, since_previous_ms }) => ({
        ...entry,
        since_start_ms,
        since_previous_ms,
      }))
      return ok(reply, { ...timeline, steps })
    },
  )

  app.post(
    '/events/dlq/replay',
    {
      schema: {
        ...tag,
        summary: 'Republish dead letters (their original events, to their original topics)',
        body: S.ReplayBody,
        response: { 200: successSchema(S.ReplayData) },
      },
    },
    async (request, reply) => {
      const body = request.body ?? {}
      const outcome = await tracer.replay({ ids: body.ids, topic: body.topic, limit: body.limit ?? 100 })
      return ok(reply, outcome)
    },
  )
}
