import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyRequest } from 'fastify'
import type { Static } from 'typebox'
import { failureLogLevel, InvalidInputError, publicErrorBody } from '../../core/errors.ts'
import { sessionIdFromHeader } from '../../core/events/trace.ts'
import { ok, successSchema } from '../../core/response.ts'
import { compileParser } from '../../core/schema.ts'
import { contentOf } from './content.ts'
import type { EventContext } from './events.ts'
import * as S from './schemas.ts'
import type { StampingService, StampOutcome, StampRequest } from './service.ts'

export interface StampingRoutesOptions {
  service: StampingService
  defaultNamespace: string
  batchMaxItems: number
}

const parseHashJson = compileParser(S.HashJsonBody, 'body')
const parseStampBody = compileParser(S.StampBody, 'item')

function parseBatchItem(item: unknown, index: number): Static<typeof S.StampBody> {
  try {
    return parseStampBody(item)
  } catch (err) {
    if (!(err instanceof InvalidInputError)) throw err
    const issues = err.issues.map((i) => ({
      field: i.field ? `items.${index}.${i.field}` : `items.${index}`,
      message: i.message,
    }))
    throw new InvalidInputError(`items.${index}: ${err.message}`, issues)
  }
}
const tag = { tags: ['stamping'] }

/**
 * What the request's events carry: its correlation id, and the caller's `x-session-id` (grouping
 * several requests into one session for the event tracer, GET /events/sessions/{id}).
 */
function eventContext(request: FastifyRequest): EventContext {
  const session = sessionIdFromHeader(request.headers['x-session-id'])
  return session === undefined
    ? { correlationId: request.id }
    : { correlationId: request.id, sessionId: session }
}

/** The stamping node's HTTP face: parse, call the service, shape the answer. No logic lives here. */
export const stampingRoutes: FastifyPluginAsyncTypebox<StampingRoutesOptions> = async (app, opts) => {
  const { service } = opts

  // POST /hash takes any body: what is not JSON arrives as raw bytes and is hashed as it is. Its
  // parser lives in a context of its own, so that the other routes, which take JSON only, answer a
  // body of another type with a 415 naming it (a buffer there failed validation as "0 is not a
  // known field", one issue per byte).
  await app.register(async (raw) => {
    // text too: fastify's text/plain parser would make a string of it
    if (raw.hasContentTypeParser('text/plain')) raw.removeContentTypeParser('text/plain')
    raw.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body))
    raw.post(
      '/hash',
      {
        schema: {
          ...tag,
          summary: 'BLAKE3 of the raw body, or of JSON {content} / {content_base64}',
          response: { 200: successSchema(S.HashData) },
        },
      },
      async (request, reply) => {
        const body = request.body
        const bytes = Buffer.isBuffer(body)
          ? body
          : body === undefined || body === null
            ? undefined
            : contentOf(parseHashJson(body), '', 'body').bytes
        if (bytes === undefined) {
          throw new InvalidInputError(
            'send the content as the raw body, or as JSON {content} or {content_base64}',
            [{ field: 'body', message: 'is required' }],
            { location: 'body' },
          )
        }
        const result = service.hash(bytes, eventContext(request))
        return ok(reply, {
          file_hash: result.fileHash,
          size_bytes: result.sizeBytes,
          execution_time_ms: result.executionTimeMs,
          hash_backend: service.hashBackend,
        })
      },
    )
  })

  app.post(
    '/stamp',
    {
      schema: {
        ...tag,
        summary: 'Stamp content and store the record',
        body: S.StampBody,
        response: { 200: successSchema(S.StampData) },
      },
    },
    async (request, reply) => {
      const { request: stampRequest, encoding } = toStampRequest(request.body, opts.defaultNamespace)
      return ok(reply, toStampData(await service.stamp(stampRequest, eventContext(request)), encoding))
    },
  )

  app.post(
    '/validate',
    {
      schema: {
        ...tag,
        summary: 'Find every stamp in the content and check it',
        body: S.ValidateBody,
        response: { 200: successSchema(S.ValidationData) },
      },
    },
    async (request, reply) => {
      const { bytes } = contentOf(request.body, '', 'body')
      const report = service.validate(
        {
          content: bytes,
          filePath: request.body.file_path,
          contentType: request.body.content_type,
          sidecar: request.body.sidecar,
        },
        eventContext(request),
      )
      return ok(reply, {
        valid: report.valid,
        stamped: report.stamped,
        current_hash: report.currentHash,
        file_kind: report.fileType.kind,
        content_type: report.fileType.contentType,
        stamps: report.stamps,
      })
    },
  )

  app.post(
    '/batch',
    {
      schema: {
        ...tag,
        summary: 'Stamp many items; each succeeds or fails on its own',
        body: S.batchBody(opts.batchMaxItems),
        response: { 200: successSchema(S.BatchData) },
      },
    },
    async (request, reply) => {
      // Each item is parsed on its own, so that a malformed item fails alone instead of the batch.
      const context = eventContext(request)
      const parsed = request.body.items.map((item, index) => {
        try {
          return toStampRequest(parseBatchItem(item, index), opts.defaultNamespace, `items.${index}.`)
        } catch (err) {
          if (err instanceof InvalidInputError) return err
          throw err
        }
      })
      const outcomes = await service.batch(
        parsed.map((p) => (p instanceof InvalidInputError ? p : p.request)),
        context,
      )
      const results = outcomes.map((outcome): Static<typeof S.BatchData>['results'][number] => {
        const { index } = outcome
        if (outcome.status === 'success') {
          const encoding = (parsed[index] as { encoding: 'text' | 'base64' }).encoding
          return { index, status: 'success', data: toStampData(outcome.data, encoding) }
        }
        const level = failureLogLevel(outcome.error, outcome.error.status)
        if (level === 'error') request.log.error({ err: outcome.error, index }, 'batch item failed')
        else
          request.log[level](
            { code: outcome.error.code, index },
            `batch item failed: ${outcome.error.message}`,
          )
        return { index, status: 'error', error: publicErrorBody(outcome.error) }
      })
      const succeeded = results.filter((r) => r.status === 'success').length
      return ok(reply, { total: results.length, succeeded, failed: results.length - succeeded, results })
    },
  )

  app.post(
    '/validate-protocol',
    {
      schema: {
        ...tag,
        summary: 'Check O.N.E. v0.1 protocol metadata; every violation is listed',
        body: S.ProtocolBody,
        response: { 200: successSchema(S.ProtocolData) },
      },
    },
    async (request, reply) => ok(reply, service.validateProtocol(request.body.metadata)),
  )

  app.get(
    '/stamp/:file_hash',
    {
      schema: {
        ...tag,
        summary: 'The stored records of a content hash',
        params: S.HashParams,
        querystring: S.HashQuery,
        response: { 200: successSchema(S.RecordsData) },
      },
    },
    async (request, reply) =>
      ok(reply, {
        file_hash: request.params.file_hash,
        records: await service.findByHash(request.params.file_hash, request.query.namespace),
      }),
  )

  app.get(
    '/namespace/:namespace',
    {
      schema: {
        ...tag,
        summary: 'Records of a namespace, oldest first, by cursor',
        params: S.NamespaceParams,
        querystring: S.NamespaceQuery,
        response: { 200: successSchema(S.NamespaceData) },
      },
    },
    async (request, reply) => {
      const page = await service.listNamespace(
        request.params.namespace,
        request.query.limit ?? 50,
        request.query.cursor,
      )
      return ok(reply, { namespace: request.params.namespace, ...page })
    },
  )
}

function toStampRequest(body: Static<typeof S.StampBody>, defaultNamespace: string, at = '') {
  const { bytes, encoding } = contentOf(body, at, 'body')
  const request: StampRequest = {
    content: bytes,
    namespace: body.namespace ?? defaultNamespace,
    stampType: body.stamp_type ?? 'lightweight',
    filePath: body.file_path,
    contentType: body.content_type,
    intelligenceData: body.intelligence_data,
  }
  return { request, encoding }
}

function toStampData(outcome: StampOutcome, encoding: 'text' | 'base64'): Static<typeof S.StampData> {
  const stamped = outcome.stampedContent
  return {
    file_hash: outcome.fileHash,
    namespace: outcome.record.namespace,
    stamp_type: outcome.stampType,
    file_kind: outcome.fileKind,
    changed: outcome.changed,
    created: outcome.created,
    ...(stamped === null
      ? {}
      : encoding === 'text'
        ? { stamped_content: Buffer.from(stamped).toString('utf8') }
        : { stamped_content_base64: Buffer.from(stamped).toString('base64') }),
    ...(outcome.sidecar ? { sidecar: outcome.sidecar, sidecar_path: outcome.sidecarPath } : {}),
    record: outcome.record,
  }
}
