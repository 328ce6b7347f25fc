import { InvalidInputError } from './errors.ts'

/** Where a keyset page ends: the last row's created_at and id (WHERE (created_at, id) > cursor). */
export interface KeysetPosition {
  /** created_at as PostgreSQL writes it, with microseconds: a JS Date keeps only milliseconds, which
   * would skip or repeat rows created within the same millisecond. */
  createdAt: string
  id: string
}

/** The opaque `next_cursor` of a page. */
export function encodeKeysetCursor(position: KeysetPosition): string {
  return Buffer.from(JSON.stringify([position.createdAt, position.id])).toString('base64url')
}

/** A `cursor` query parameter back into its position; an InvalidInputError naming `cursor` otherwise. */
export function decodeKeysetCursor(cursor: string): KeysetPosition {
  try {
    const parsed: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'))
    if (
      Array.isArray(parsed) &&
      parsed.length === 2 &&
      typeof parsed[0] === 'string' &&
      typeof parsed[1] === 'string' &&
      !Number.isNaN(Date.parse(parsed[0])) &&
      /^[0-9a-f-]{36}$/.test(parsed[1])
    )
      return { createdAt: parsed[0], id: parsed[1] }
  } catch {
    // fall through to the error below
  }
  throw new InvalidInputError('cursor is not one this server issued', [
    { field: 'cursor', message: 'must be the next_cursor of a previous page' },
  ])
}
