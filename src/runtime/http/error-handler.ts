import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { roundMs } from '../../core/duration.ts'
import {
  type ErrorCode,
  errorCatalogue,
  failureLogLevel,
  isOnexError,
  type OnexError,
  publicErrorBody,
} from '../../core/errors.ts'
import { issuesOf } from '../../core/schema.ts'
import { requestEncodings } from './compression.ts'

/**
 * The one place where errors become HTTP (STYLE 6). Domain errors carry their code; fastify's own
 * errors (bad JSON, body too large, unsupported media type, schema validation) are translated here;
 * anything else is a 500 whose message and stack stay in the log, never in the response.
 */
export function installErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError | OnexError, request, reply) => {
    const { code, message, details, retryAfter } = describe(error, request)
    const status = errorCatalogue[code].status
    logFailure(request, error, code, status, message)
    if (retryAfter !== undefined) reply.header('retry-after', String(retryAfter))
    return sendError(request, reply, status, code, message, details)
  })

  app.setNotFoundHandler((request, reply) =>
    sendError(
      request,
      reply,
      404,
      'ONEX_CORE_029_NOT_FOUND',
      `no route ${request.method} ${request.url.split('?')[0]}`,
    ),
  )
}

/**
 * fastify's answers from before routing, which skip the error handler: a path that does not decode
 * (FST_ERR_BAD_URL, e.g. `%zz`) and a path parameter longer than the router's maxParamLength. Both are
 * the client's mistake, answered as every other one is: a unified 400 naming the path.
 */
export function answerFrameworkError(error: FastifyError, request: FastifyRequest, reply: FastifyReply) {
  reply.header('x-correlation-id', request.id)
  // the path is the client's text: quoted in part, enough to recognise it
  const whole = request.url.split('?')[0]!
  const path = whole.length > 200 ? `${whole.slice(0, 200)}…` : whole
  const tooLong = error.code === 'FST_ERR_MAX_PARAM_LENGTH'
  const message = tooLong
    ? `a segment of the path ${path} is longer than any this server takes (${maxParamLength} characters)`
    : `the path ${path} does not decode: each % must start a percent-encoded UTF-8 byte, like %20`
  request.log.debug({ code: error.code, path }, 'request not served')
  return sendError(request, reply, 400, 'ONEX_CORE_007_INVALID_INPUT', message, {
    issues: [{ field: 'path', message: tooLong ? 'too long' : 'not a valid URL path' }],
  })
}

/**
 * The router's limit on one path parameter. fastify's default (100) is shorter than values the API
 * gives out and takes elsewhere (a node_id of 256 characters, a session id of 128, a namespace of
 * 256, more once percent-encoded); the route schemas check each parameter's own length.
 */
export const maxParamLength = 1024

function logFailure(
  request: FastifyRequest,
  error: FastifyError | OnexError,
  code: ErrorCode,
  status: number,
  message: string,
): void {
  const level = failureLogLevel(error, status)
  if (level === 'error') request.log.error({ err: error, code }, 'request failed')
  else if (level === 'debug') request.log.debug({ code, message }, 'request not served')
  else {
    const reason = error.cause instanceof Error ? error.cause.message : undefined
    request.log.warn({ code, reason }, `request failed, retryable: ${message}`)
  }
}

export function sendError(
  request: FastifyRequest,
  reply: FastifyReply,
  status: number,
  code: ErrorCode,
  message: string,
  details?: Record<string, unknown>,
) {
  return reply
    .code(status)
    .type('application/json; charset=utf-8')
    .send({
      status: 'error',
      error: details ? { code, message, details } : { code, message },
      metadata: { correlation_id: request.id, duration_ms: roundMs(reply.elapsedTime) },
    })
}

interface Described {
  code: ErrorCode
  message: string
  details?: Record<string, unknown>
  retryAfter?: number
}

const fastifyCodes: Record<string, ErrorCode> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'ONEX_CORE_013_PAYLOAD_TOO_LARGE',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'ONEX_CORE_007_INVALID_INPUT',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'ONEX_CORE_007_INVALID_INPUT',
  FST_ERR_CTP_INVALID_JSON_BODY: 'ONEX_CORE_007_INVALID_INPUT',
}

function describe(error: FastifyError | OnexError, request: FastifyRequest): Described {
  if (isOnexError(error)) {
    return {
      ...publicErrorBody(error),
      ...(error.retryAfterSeconds !== undefined ? { retryAfter: error.retryAfterSeconds } : {}),
    }
  }
  const fe = error as FastifyError
  if (fe.validation) {
    const where = fe.validationContext ?? 'request'
    const issues = issuesOf(fe.validation as never).map((i) => ({
      field: i.field || where,
      message: i.message,
    }))
    const first = issues[0]
    return {
      code: 'ONEX_CORE_007_INVALID_INPUT',
      message: `invalid ${where}${first ? `: ${first.field} ${first.message}` : ''}`,
      details: { location: where, issues },
    }
  }
  if (fe.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') return unsupportedMediaType(request)
  if (fe.code === 'FST_CP_ERR_INVALID_CONTENT_ENCODING') return unsupportedEncoding(request)
  if (fe.code === 'FST_CP_ERR_INVALID_CONTENT') return undecodableBody(request)
  const mapped = fe.code ? fastifyCodes[fe.code] : undefined
  if (mapped) return { code: mapped, message: fe.message }
  if (typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) {
    return { code: 'ONEX_CORE_007_INVALID_INPUT', message: fe.message }
  }
  return {
    code: 'ONEX_CORE_001_INTERNAL_ERROR',
    message: errorCatalogue.ONEX_CORE_001_INTERNAL_ERROR.summary,
  }
}

/** A content-encoding that compression.ts does not decode. */
function unsupportedEncoding(request: FastifyRequest): Described {
  const sent = String(request.headers['content-encoding']).slice(0, 100)
  return {
    code: 'ONEX_CORE_012_UNSUPPORTED_MEDIA_TYPE',
    message: `content-encoding ${sent} is not accepted: send the body as it is, or compressed with gzip, deflate or br`,
    details: {
      issues: [{ field: 'content-encoding', message: `must be one of ${requestEncodings.join(', ')}` }],
    },
  }
}

/** The body is not what its content-encoding says (the plugin keeps no more of zlib's reason). */
function undecodableBody(request: FastifyRequest): Described {
  const encoding = String(request.headers['content-encoding'])
  return {
    code: 'ONEX_CORE_007_INVALID_INPUT',
    message: `the body does not decompress as ${encoding}, the content-encoding it was sent with`,
    details: {
      issues: [{ field: 'body', message: `must be ${encoding} data, as its content-encoding says` }],
    },
  }
}

/**
 * fastify says only "Unsupported Media Type"; the answer names the type sent and the one expected
 * (every route with a body takes JSON, but POST /hash, which takes any type).
 */
function unsupportedMediaType(request: FastifyRequest): Described {
  // a header is the client's text: quoted in part, enough to recognise it
  const sent = request.headers['content-type']?.slice(0, 100)
  const message = sent
    ? `content-type ${sent} is not accepted here: send the body as JSON, with content-type application/json`
    : 'the body has no content-type: send it as JSON, with content-type application/json'
  return {
    code: 'ONEX_CORE_012_UNSUPPORTED_MEDIA_TYPE',
    message,
    details: { issues: [{ field: 'content-type', message: 'must be application/json' }] },
  }
}
