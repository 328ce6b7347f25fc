import compress from '@fastify/compress'
import type { FastifyInstance } from 'fastify'

/** The content codings a request body may be sent in (RFC 9110 8.4); identity is none. */
export const requestEncodings = ['gzip', 'deflate', 'br', 'identity'] as const

/**
 * Bodies sent with `content-encoding: gzip | deflate | br` are decompressed before they are parsed, so
 * that a compressed upload is stamped or hashed as the content it carries, never as its compressed
 * bytes (fastify alone ignores the header). The body limit applies to the decompressed body: a small
 * bomb is a 413 like any big body. Another coding is a 415 naming it, and a body that is not what its
 * coding says a 400 (error-handler.ts words both).
 *
 * Responses are not compressed: the plugin's response side stays off.
 */
export async function installRequestDecoding(app: FastifyInstance): Promise<void> {
  app.addHook('onRequest', (request, _reply, done) => {
    const sent = request.headers['content-encoding']
    if (sent !== undefined) request.headers['content-encoding'] = normaliseContentEncoding(sent)
    done()
  })
  await app.register(compress, {
    globalCompression: false,
    globalDecompression: true,
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
