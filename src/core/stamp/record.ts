/**
 * The full stamp record, shared by the rich block and the sidecar (and what the store keeps):
 *
 *   uid, hash, timestamp, protocol_version, file_path, file_size, content_type, namespace,
 *   integrity { algorithm: "BLAKE3", hash }
 *
 * `file_size` is the byte size of the content with its stamps removed (so it does not depend on the
 * stamp that carries it); `file_path` is null when the caller gave none. On read, unknown keys are
 * ignored and every known key must be present with its type.
 */

import { INTEGRITY_ALGORITHM, isBlake3Hex, isIsoDateTime, isNamespace, isUuid } from './fields.ts'

/** What a stamp says about the content it stamps. */
export interface StampRecord {
  uid: string
  hash: string
  timestamp: string
  namespace: string
  protocol_version: string
  file_path: string | null
  file_size: number
  content_type: string
}

/** A record as written in a rich block or a sidecar: the record plus its integrity block. */
export interface StampDocument {
  uid: string
  hash: string
  timestamp: string
  protocol_version: string
  file_path: string | null
  file_size: number
  content_type: string
  namespace: string
  integrity: { algorithm: string; hash: string }
}

/** The document for a record, keys in their written order. */
export function toDocument(record: StampRecord): StampDocument {
  return {
    uid: record.uid,
    hash: record.hash,
    timestamp: record.timestamp,
    protocol_version: record.protocol_version,
    file_path: record.file_path,
    file_size: record.file_size,
    content_type: record.content_type,
    namespace: record.namespace,
    integrity: { algorithm: INTEGRITY_ALGORITHM, hash: record.hash },
  }
}

export function toRecord(document: StampDocument): StampRecord {
  return {
    uid: document.uid,
    hash: document.hash,
    timestamp: document.timestamp,
    namespace: document.namespace,
    protocol_version: document.protocol_version,
    file_path: document.file_path,
    file_size: document.file_size,
    content_type: document.content_type,
  }
}

/** A stamp document read from a parsed object, or null when a known field is missing or malformed. */
export function readDocument(value: unknown): StampDocument | null {
  if (!isObject(value)) return null
  const { uid, hash, timestamp, protocol_version, file_path, file_size, content_type, namespace, integrity } =
    value
  if (!isUuid(uid) || !isBlake3Hex(hash) || !isIsoDateTime(timestamp)) return null
  if (typeof protocol_version !== 'string' || protocol_version === '') return null
  if (file_path !== null && typeof file_path !== 'string') return null
  if (typeof file_size !== 'number' || !Number.isSafeInteger(file_size) || file_size < 0) return null
  if (typeof content_type !== 'string' || !isNamespace(namespace)) return null
  if (!isObject(integrity) || typeof integrity.algorithm !== 'string' || typeof integrity.hash !== 'string') {
    return null
  }
  return {
    uid,
    hash,
    timestamp,
    protocol_version,
    file_path,
    file_size,
    content_type,
    namespace,
    integrity: { algorithm: integrity.algorithm, hash: integrity.hash },
  }
}

/** The integrity block agrees with the stamp: BLAKE3, over the same hash. */
export function integrityHolds(document: StampDocument): boolean {
  return document.integrity.algorithm === INTEGRITY_ALGORITHM && document.integrity.hash === document.hash
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}
