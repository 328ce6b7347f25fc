import compress from '@fastify/compress'
import type { FastifyInstance } from 'fastify'

/** The content codings a request body may be sent in (RFC 9110 8.4); identity is none. */
export const requestEncodings = ['gzip', 'deflate', 'br', 'identity'] as const

/**
 * Content codings, both ways (@fastify/compress):
 * - Requests: a body sent with `content-encoding: gzip | deflate | br` is decompressed before it is
 *   parsed, so that a compressed upload is stamped or hashed as the content it carries, never as its
 *   compressed bytes (fastify alone ignores the header). The body limit applies to the decompressed
 *   body: a small bomb is a 413 like any big body. Another coding is a 415 naming it, and a body that
 *   is not what its coding says a 400 (error-handler.ts words both).
 * - Responses of 1 KiB or more are compressed for a client that sends `accept-encoding` (br, gzip or
 *   deflate): an event log page or a Prometheus scrape shrinks several times. Smaller answers, and
 *   clients that ask for nothing (load generators among them), cost one header check. The topology
 *   stream writes its socket itself (hijacked), so it is never buffered by a compressor.
 */
export async function installCompression(app: FastifyInstance): Promise<void> {
  app.addHook('onRequest', (request, _reply, done) => {
    const sent = request.headers['content-encoding']
    if (sent !== undefined) request.headers['content-encoding'] = normaliseContentEncoding(sent)
    done()
  })
  await app.register(compress, {
    encodings: ['br', 'gzip', 'deflate'],
    threshold: 1024,
    requestEncodings: [...requestEncodings],
  })
}

/**
 * Content codings are case-insensitive, and `x-gzip` is gzip (RFC 9110 8.4.1.3); the plugin compares
 * the header as sent. Several codings (`gzip, br`) stay as they are: they are not accepted.
 */
export function normaliseContentEncoding(sent: string): string {
  const coding = sent.trim().toLowerCase()
  return coding === 'x-gzip' ? 'gzip' : coding
}
