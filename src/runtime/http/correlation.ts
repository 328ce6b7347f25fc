import { randomUUID } from 'node:crypto'
import type { IncomingMessage } from 'node:http'

const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

/**
 * The request id is the correlation id: the caller's `x-correlation-id` when it is a uuid (so a
 * chain of calls shares one), else a new one. Every response echoes it in the header and metadata.
 */
export function correlationIdOf(req: IncomingMessage): string {
  const given = req.headers['x-correlation-id']
  return typeof given === 'string' && uuidPattern.test(given) ? given.toLowerCase() : randomUUID()
}
