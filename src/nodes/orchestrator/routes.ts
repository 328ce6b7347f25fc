import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyRequest } from 'fastify'
import type { Static } from 'typebox'
import { InvalidInputError, type RequestPart } from '../../core/errors.ts'
import { sessionIdFromHeader } from '../../core/events/trace.ts'
import { ok, successSchema } from '../../core/response.ts'
import { compileParser } from '../../core/schema.ts'
import type { WorkflowOrigin } from './events.ts'
import * as S from './schemas.ts'
import type { WorkflowOutcome, WorkflowService } from './service.ts'
import type { WorkflowInput } from './validate-input.ts'

export interface WorkflowRoutesOptions {
  service: WorkflowService
  defaultNamespace: string
  maxItems: number
}

const tag = { tags: ['workflows'] }

/** The orchestrator's HTTP face: parse, call the service, shape the answer. No logic lives here. */
export const workflowRoutes: FastifyPluginAsyncTypebox<WorkflowRoutesOptions> = async (app, opts) => {
  const { service } = opts
  const parseItem = compileParser(S.WorkflowItem, 'body')
  const parseBatch = compileParser(S.workflowBatch(opts.maxItems), 'body')

  app.post(
    '/workflows/stamp',
    {
      schema: {
        ...tag,
        summary: 'Run stamp workflows (one item, or {items}) and answer once each completed or failed',
        body: S.WorkflowBody,
        response: { 200: successSchema(S.SubmitData) },
      },
    },
    async (request, reply) => {
      const items = 'items' in request.body ? parseBatch(request.body).items : [parseItem(request.body)]
      const inputs = items.map((item, i) =>
        toInput(item, opts.defaultNamespace, 'items' in request.body ? `items.${i}.` : '', 'body'),
      )
      const outcomes = await service.submit(inputs, origin(request))
      const workflows = outcomes.map((o, i) => toResult(o, inputs[i]!.encoding))
      const completed = workflows.filter((w) => w.state === 'completed').length
      return ok(reply, {
        total: workflows.length,
        completed,
        failed: workflows.length - completed,
        workflows,
      })
    },
  )

  app.get(
    '/workflows/:id',
    {
      schema: {
        ...tag,
        summary: 'A workflow: its state, steps, transitions, timings and error',
        params: S.WorkflowParams,
        response: { 200: successSchema(S.WorkflowDetail) },
      },
    },
    async (request, reply) => {
      const { workflow, steps, transitions } = await service.get(request.params.id.toLowerCase())
      return ok(reply, { ...workflow, steps, transitions })
    },
  )

  app.get(
    '/workflows',
    {
      schema: {
        ...tag,
        summary: 'Workflows, oldest first, by cursor; filtered by state and namespace',
        querystring: S.WorkflowQuery,
        response: { 200: successSchema(S.WorkflowList) },
      },
    },
    async (request, reply) => {
      const { state, namespace, limit, cursor } = request.query
      return ok(reply, await service.list({ state, namespace }, limit ?? 50, cursor))
    },
  )
}

/**
 * The item's content as bytes: exactly one of content and content_base64. `at` prefixes the fields
 * named; `location` is the request part they are in (none for an event's payload).
 */
export function toInput(
  item: Static<typeof S.WorkflowItem>,
  defaultNamespace: string,
  at = '',
  location?: RequestPart,
): WorkflowInput {
  const hasText = item.content !== undefined
  if (hasText === (item.content_base64 !== undefined)) {
    const message = hasText
      ? 'give content or content_base64, not both'
      : 'content or content_base64 is required'
    throw new InvalidInputError(
      `${at}${message}`,
      [
        { field: `${at}content`, message },
        { field: `${at}content_base64`, message },
      ],
      location === undefined ? {} : { location },
    )
  }
  return {
    content: hasText ? Buffer.from(item.content!, 'utf8') : Buffer.from(item.content_base64!, 'base64'),
    encoding: hasText ? 'text' : 'base64',
    namespace: item.namespace ?? defaultNamespace,
    stampType: item.stamp_type ?? 'lightweight',
    filePath: item.file_path,
    contentType: item.content_type,
    intelligenceData: item.intelligence_data,
    intelligence: item.intelligence ?? true,
  }
}

function origin(request: FastifyRequest): WorkflowOrigin {
  const session = sessionIdFromHeader(request.headers['x-session-id'])
  return session === undefined
    ? { correlationId: request.id }
    : { correlationId: request.id, sessionId: session }
}

function toResult(o: WorkflowOutcome, encoding: 'text' | 'base64'): Static<typeof S.WorkflowResult> {
  const stamped = o.stamp?.stampedContent
  return {
    workflow_id: o.workflowId,
    state: o.state,
    namespace: o.namespace,
    degraded: o.degraded,
    duration_ms: o.durationMs,
    steps: o.steps.map((s) => ({
      step: s.step,
      status: s.status,
      attempts: s.attempts,
      duration_ms: s.durationMs,
    })),
    ...(o.stamp
      ? {
          file_hash: o.stamp.fileHash,
          stamp_type: o.stamp.stampType,
          created: o.stamp.created,
          ...(stamped
            ? encoding === 'text'
              ? { stamped_content: Buffer.from(stamped).toString('utf8') }
              : { stamped_content_base64: Buffer.from(stamped).toString('base64') }
            : {}),
          ...(o.stamp.sidecar ? { sidecar: o.stamp.sidecar } : {}),
        }
      : {}),
    ...(o.error
      ? { error: { failed_step: o.error.failedStep, code: o.error.code, message: o.error.message } }
      : {}),
  }
}
