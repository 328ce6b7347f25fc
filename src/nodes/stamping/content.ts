import { InvalidInputError, type RequestPart } from '../../core/errors.ts'

export interface ContentFields {
  content?: string | undefined
  content_base64?: string | undefined
}

/**
 * The bytes of a request that carries its content as `content` (text) or `content_base64`, exactly
 * one. `at` prefixes the fields named (an item of a batch); `location` is the request part they are in.
 */
export function contentOf(
  body: ContentFields,
  at = '',
  location?: RequestPart,
): { bytes: Uint8Array; encoding: 'text' | 'base64' } {
  const hasText = body.content !== undefined
  const hasBase64 = body.content_base64 !== undefined
  if (hasText === hasBase64) {
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
  return hasText
    ? { bytes: Buffer.from(body.content!, 'utf8'), encoding: 'text' }
    : { bytes: Buffer.from(body.content_base64!, 'base64'), encoding: 'base64' }
}
