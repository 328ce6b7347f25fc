/**
 * Validating stamps: recompute the content's hash (stamps excluded, see normalize.ts) and compare it
 * with every stamp found: lightweight lines at the top, rich blocks at the end, and the sidecar when the
 * caller passes one. A stamp is valid when its hash is the current hash (and, for rich blocks and
 * sidecars, its integrity block agrees); content is valid when it has at least one stamp and all of
 * them are valid. Binary content is not searched for embedded stamps: only its sidecar can stamp it.
 */

import { InvalidInputError } from '../errors.ts'
import type { HashFn } from './fields.ts'
import { detectFileType, type FileType } from './file-types.ts'
import { scanStamps } from './layout.ts'
import { decodeText, encodeText, normalizeWhitespace } from './normalize.ts'
import { integrityHolds } from './record.ts'
import { parseSidecar } from './sidecar.ts'
import type { StampType } from './stamp.ts'

export interface ValidateStampsInput {
  bytes: Uint8Array
  filePath?: string | undefined
  contentType?: string | undefined
  hash: HashFn
  /** The content's sidecar (object, JSON text or bytes), when it has one. */
  sidecar?: unknown
}

export interface FoundStamp {
  type: StampType
  uid: string
  hash: string
  timestamp: string
  /** The stamp's namespace; a lightweight stamp without `ns` is in the default namespace. */
  namespace: string
  valid: boolean
  /** 1-based line of an embedded stamp (a rich block's start marker); absent for a sidecar. */
  line?: number
}

export interface StampValidation {
  fileType: FileType
  /** At least one stamp was found. */
  stamped: boolean
  /** Stamped, and every stamp found matches the content. */
  valid: boolean
  currentHash: string
  stamps: FoundStamp[]
}

export function validateStamps(input: ValidateStampsInput): StampValidation {
  const fileType = detectFileType(input)
  // Each stamp found, with whether its own integrity block (if any) agrees with its hash.
  const found: Array<[Omit<FoundStamp, 'valid'>, boolean]> = []
  let hashable = input.bytes
  if (!fileType.binary) {
    const layout = scanStamps(decodeText(input.bytes))
    hashable = encodeText(normalizeWhitespace(layout.stripped))
    for (const { stamp, line } of layout.lightweight) {
      const { uid, hash, timestamp, namespace } = stamp
      found.push([{ type: 'lightweight', uid, hash, timestamp, namespace, line }, true])
    }
    for (const { stamp, line } of layout.rich) {
      const { uid, hash, timestamp, namespace } = stamp.document
      found.push([{ type: 'rich', uid, hash, timestamp, namespace, line }, integrityHolds(stamp.document)])
    }
  }
  if (input.sidecar !== undefined) {
    const document = parseSidecar(input.sidecar)
    if (document === null) {
      throw new InvalidInputError('the sidecar is not a stamp document', [
        { field: 'sidecar', message: 'is not a well-formed stamp document' },
      ])
    }
    const { uid, hash, timestamp, namespace } = document
    found.push([{ type: 'sidecar', uid, hash, timestamp, namespace }, integrityHolds(document)])
  }

  const currentHash = input.hash(hashable)
  const stamps = found.map(([stamp, integrity]) => ({
    ...stamp,
    valid: integrity && stamp.hash === currentHash,
  }))
  const stamped = stamps.length > 0
  return { fileType, stamped, valid: stamped && stamps.every((s) => s.valid), currentHash, stamps }
}
