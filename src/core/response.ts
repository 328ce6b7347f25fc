import Type, { type TSchema } from 'typebox'
import { roundMs } from './duration.ts'
import { errorCodes } from './errors.ts'

/**
 * The unified response of every HTTP route (DESIGN section 4):
 * `{status, data?, error?: {code, message, details?}, message?, metadata: {correlation_id, duration_ms}}`.
 * Routes answer `ok(reply, data)`; errors are shaped by the runtime's error handler. These schemas
 * describe what goes on the wire, let fastify serialise it fast, and feed the OpenAPI document.
 */

export const ResponseMetadata = Type.Object({
  correlation_id: Type.String({
    description: 'The request id: the x-correlation-id header when it was a uuid, else a new one',
  }),
  duration_ms: Type.Number({ description: 'Server time spent on the request' }),
})

export function successSchema<T extends TSchema>(data: T) {
  return Type.Object({
    status: Type.Literal('success'),
    data,
    message: Type.Optional(Type.String()),
    metadata: ResponseMetadata,
  })
}

export const ErrorBody = Type.Object({
  code: Type.Union(errorCodes.map((c) => Type.Literal(c))),
  message: Type.String(),
  details: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
})

export const ErrorResponse = Type.Object({
  status: Type.Literal('error'),
  error: ErrorBody,
  metadata: ResponseMetadata,
})

/** What `ok` needs of a reply (fastify's reply has both); structural, so core stays framework-free. */
export interface ReplyTiming {
  request: { id: string }
  elapsedTime: number
}

/** A success unified response: the route's data with the correlation id and the time spent so far. */
export function ok<T>(reply: ReplyTiming, data: T, message?: string) {
  return {
    status: 'success' as const,
    data,
    ...(message === undefined ? {} : { message }),
    metadata: { correlation_id: reply.request.id, duration_ms: roundMs(reply.elapsedTime) },
  }
}
