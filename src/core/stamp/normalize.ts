/**
 * What a stamp's hash covers (DESIGN section 4): for text, the content with every stamp removed, line
 * endings normalised to LF, runs of three or more newlines collapsed to two, and trimmed; binary content
 * as is. Changes that only touch line endings, blank-line runs or leading/trailing whitespace are
 * therefore not changes; any other edit, even of one byte or of whitespace inside a line, is.
 */

import { InvalidInputError } from '../errors.ts'
import type { FileType } from './file-types.ts'
import { stripStamps } from './layout.ts'

export { stripStamps } from './layout.ts'

export function normalizeForHash(text: string): string {
  return normalizeWhitespace(stripStamps(text))
}

/** The whitespace part of the normalisation, for text whose stamps are already removed. */
export function normalizeWhitespace(text: string): string {
  return text
    .replace(/\r\n?/g, '\n')
    .replace(/\n{3,}/g, '\n\n')
    .trim()
}

/** The bytes a stamp's hash is computed over. */
export function hashableBytes(bytes: Uint8Array, fileType: FileType): Uint8Array {
  if (fileType.binary) return bytes
  return utf8.encode(normalizeForHash(decodeText(bytes)))
}

/** UTF-8 bytes as text, a byte-order mark kept; InvalidInputError when they are not UTF-8. */
export function decodeText(bytes: Uint8Array): string {
  try {
    return strictUtf8.decode(bytes)
  } catch (cause) {
    throw new InvalidInputError(
      'content is not valid UTF-8 text',
      [{ field: 'content', message: 'is not valid UTF-8' }],
      { cause },
    )
  }
}

export function encodeText(text: string): Uint8Array {
  return utf8.encode(text)
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })
const utf8 = new TextEncoder()
