/**
 * Creating a stamp: hash the content (stamps excluded, see normalize.ts) and embed or attach the stamp.
 *
 * - Text with a comment syntax gets the requested embedded stamp (lightweight by default, or rich).
 * - Binary content, text without comment syntax (JSON, CSV) and an explicit `stampType: 'sidecar'` get a
 *   sidecar document; the content is never modified (`stampedBytes: null`).
 * - Existing stamps are removed first, so the hash is the hash of the unstamped content and stamping is
 *   idempotent. When the content already carries exactly the stamp asked for (same type, hash,
 *   namespace, comment syntax and, for rich blocks and sidecars, the same recorded fields), it is kept
 *   as is: same bytes, same uid and timestamp, `changed: false`. A rich block or sidecar is current
 *   only if its recorded path (when the caller gives one), size and content type still hold.
 * - Removing old stamps and inserting the new one preserve the content's bytes, line-ending style and
 *   final-newline presence (see layout.ts).
 *
 * uid and timestamp come from the caller, so the core stays pure and deterministic. Invalid input is one
 * InvalidInputError listing every bad field (`namespace`, `uid`, `timestamp`, `stamp_type`, `file_path`).
 */

import { type FieldIssue, InvalidInputError, OnexError } from '../errors.ts'
import {
  DEFAULT_NAMESPACE,
  type HashFn,
  isBlake3Hex,
  isIsoDateTime,
  isNamespace,
  isUuid,
  PROTOCOL_VERSION,
} from './fields.ts'
import { detectFileType, type FileType } from './file-types.ts'
import { appendRich, insertLightweight, type StampLayout, scanStamps } from './layout.ts'
import { formatLightweight } from './lightweight.ts'
import { decodeText, encodeText, normalizeWhitespace } from './normalize.ts'
import { integrityHolds, type StampDocument, type StampRecord, toDocument, toRecord } from './record.ts'
import { formatRichBlock } from './rich.ts'
import { parseSidecar } from './sidecar.ts'

export type StampType = 'lightweight' | 'rich' | 'sidecar'

const stampTypes: readonly StampType[] = ['lightweight', 'rich', 'sidecar']

export interface CreateStampInput {
  bytes: Uint8Array
  /** Where the content lives; used for type detection and recorded in rich blocks and sidecars. */
  filePath?: string | undefined
  /** Declared MIME type, used when magic bytes and the file name say nothing. */
  contentType?: string | undefined
  /** @default 'omninode.services.metadata' */
  namespace?: string | undefined
  /**
   * The stamp wanted. Content that cannot carry an embedded stamp gets a sidecar whatever is asked.
   * @default 'lightweight'
   */
  stampType?: StampType | undefined
  /** The new stamp's id (a UUID). */
  uid: string
  /** The new stamp's time (ISO-8601 date-time). */
  timestamp: string
  hash: HashFn
  /** The sidecar that already exists for this content, if any: kept when it is still current. */
  sidecar?: unknown
}

export interface StampResult {
  fileType: FileType
  /** BLAKE3 of the hashable content (normalize.ts). */
  fileHash: string
  /** What was done, which is the requested type unless the content needed a sidecar. */
  stampType: StampType
  /** The content with its stamp; null for a sidecar (the content is not modified). */
  stampedBytes: Uint8Array | null
  /** The sidecar document to write beside the content; null for embedded stamps. */
  sidecar: StampDocument | null
  /** The stamp now in force (the existing one when it was kept). */
  stamp: StampRecord
  /** False when the content (or the given sidecar) already held this stamp and is returned unchanged. */
  changed: boolean
}

/**
 * @example
 * const result = createStamp({ bytes, filePath: 'tool.py', uid: randomUUID(),
 *   timestamp: clock.now().toISOString(), hash: blake3Hex })
 * // result.stampedBytes: '# ONEX:uid=…,hash=…,ts=…,ns=omninode.services.metadata\n' + the content
 */
export function createStamp(input: CreateStampInput): StampResult {
  const namespace = input.namespace ?? DEFAULT_NAMESPACE
  checkInput(input, namespace)
  const fileType = detectFileType(input)

  let layout: StampLayout | null = null
  let hashable = input.bytes
  let fileSize = input.bytes.length
  if (!fileType.binary) {
    layout = scanStamps(decodeText(input.bytes))
    hashable = encodeText(normalizeWhitespace(layout.stripped))
    fileSize = encodeText(layout.stripped).length
  }
  const fileHash = input.hash(hashable)
  if (!isBlake3Hex(fileHash)) {
    throw new OnexError(
      'ONEX_CORE_001_INTERNAL_ERROR',
      'the hash function did not return 64 lowercase hex digits',
    )
  }

  const record: StampRecord = {
    uid: input.uid,
    hash: fileHash,
    timestamp: input.timestamp,
    namespace,
    protocol_version: PROTOCOL_VERSION,
    file_path: input.filePath ?? null,
    file_size: fileSize,
    content_type: fileType.contentType,
  }
  const base = { fileType, fileHash }
  const comment = fileType.comment

  if (layout === null || comment === null || input.stampType === 'sidecar') {
    const existing = input.sidecar === undefined ? null : parseSidecar(input.sidecar)
    const keep = existing !== null && documentIsCurrent(existing, record, input.filePath)
    const sidecar = keep ? existing : toDocument(record)
    return {
      ...base,
      stampType: 'sidecar',
      stampedBytes: null,
      sidecar,
      stamp: toRecord(sidecar),
      changed: !keep,
    }
  }

  if (input.stampType === 'rich') {
    const found = layout.lightweight.length === 0 && layout.rich.length === 1 ? layout.rich[0]!.stamp : null
    if (found && found.comment === comment && documentIsCurrent(found.document, record, input.filePath)) {
      return { ...base, ...unchanged('rich', input.bytes), stamp: toRecord(found.document) }
    }
    const text = appendRich(layout.stripped, formatRichBlock(toDocument(record), comment))
    return { ...base, ...embedded('rich', text, input.bytes), stamp: record }
  }

  const found =
    layout.rich.length === 0 && layout.lightweight.length === 1 ? layout.lightweight[0]!.stamp : null
  if (found && found.comment === comment && found.hash === fileHash && found.namespace === namespace) {
    const stamp = { ...record, uid: found.uid, timestamp: found.timestamp }
    return { ...base, ...unchanged('lightweight', input.bytes), stamp }
  }
  const line = formatLightweight({
    uid: input.uid,
    hash: fileHash,
    timestamp: input.timestamp,
    namespace,
    comment,
  })
  return {
    ...base,
    ...embedded('lightweight', insertLightweight(layout.stripped, line), input.bytes),
    stamp: record,
  }
}

function unchanged(stampType: 'lightweight' | 'rich', bytes: Uint8Array) {
  return { stampType, stampedBytes: bytes, sidecar: null, changed: false }
}

function embedded(stampType: 'lightweight' | 'rich', text: string, original: Uint8Array) {
  const stampedBytes = encodeText(text)
  return { stampType, stampedBytes, sidecar: null, changed: !sameBytes(stampedBytes, original) }
}

/** An existing rich block or sidecar still says everything a new one would, apart from uid and time. */
function documentIsCurrent(
  document: StampDocument,
  record: StampRecord,
  filePath: string | undefined,
): boolean {
  return (
    integrityHolds(document) &&
    document.hash === record.hash &&
    document.namespace === record.namespace &&
    document.protocol_version === record.protocol_version &&
    document.content_type === record.content_type &&
    document.file_size === record.file_size &&
    (filePath === undefined || document.file_path === filePath)
  )
}

function checkInput(input: CreateStampInput, namespace: string): void {
  const issues: FieldIssue[] = []
  if (!isNamespace(namespace)) {
    issues.push({ field: 'namespace', message: 'must match ^(omninode|onex)\\.[a-zA-Z0-9_.]+$' })
  }
  if (!isUuid(input.uid)) issues.push({ field: 'uid', message: 'must be a UUID' })
  if (!isIsoDateTime(input.timestamp))
    issues.push({ field: 'timestamp', message: 'must be an ISO-8601 date-time' })
  if (input.stampType !== undefined && !stampTypes.includes(input.stampType)) {
    issues.push({ field: 'stamp_type', message: `must be one of ${stampTypes.join(', ')}` })
  }
  if (input.filePath !== undefined && (typeof input.filePath !== 'string' || input.filePath === '')) {
    issues.push({ field: 'file_path', message: 'must be a non-empty string' })
  }
  if (!(input.bytes instanceof Uint8Array)) issues.push({ field: 'content', message: 'must be bytes' })
  if (issues.length > 0) throw new InvalidInputError('invalid stamp request', issues)
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}
