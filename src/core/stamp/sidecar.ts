/**
 * The sidecar: the stamp of content that is never modified (binary files, and text that has no comment
 * syntax such as JSON). It is the stamp document as a JSON object, kept in `.<name>.onex-meta.json`
 * beside the file (and in the store). Reading ignores unknown keys.
 */

import { InvalidInputError } from '../errors.ts'
import { readDocument, type StampDocument, type StampRecord, toDocument } from './record.ts'

export const SIDECAR_SUFFIX = '.onex-meta.json'

/** `dir/photo.jpg` → `dir/.photo.jpg.onex-meta.json` (either path separator, kept as given). */
export function sidecarPath(filePath: string): string {
  const cut = Math.max(filePath.lastIndexOf('/'), filePath.lastIndexOf('\\')) + 1
  const name = filePath.slice(cut)
  if (name === '' || name === '.' || name === '..') {
    throw new InvalidInputError('file_path must name a file', [
      { field: 'file_path', message: 'must name a file' },
    ])
  }
  return `${filePath.slice(0, cut)}.${name}${SIDECAR_SUFFIX}`
}

export function formatSidecar(record: StampRecord): StampDocument {
  return toDocument(record)
}

/** The sidecar file's text: the document as indented JSON with a final newline. */
export function serializeSidecar(document: StampDocument): string {
  return `${JSON.stringify(document, null, 2)}\n`
}

/**
 * The document of a sidecar given as an object, as JSON text or as UTF-8 bytes of JSON; null when it is
 * not a well-formed stamp document.
 */
export function parseSidecar(value: unknown): StampDocument | null {
  if (value instanceof Uint8Array) return parseSidecar(new TextDecoder().decode(value))
  if (typeof value !== 'string') return readDocument(value)
  try {
    return readDocument(JSON.parse(value))
  } catch {
    return null
  }
}
