import { randomUUID } from 'node:crypto'
import { mapWithConcurrency } from '../../core/concurrency.ts'
import { channels, type HashObservation } from '../../core/diagnostics.ts'
import { isOnexError, NotFoundError, OnexError } from '../../core/errors.ts'
import type { Blake3 } from '../../core/hashing/blake3.ts'
import {
  createStamp,
  type StampDocument,
  type StampResult,
  type StampType,
  sidecarPath,
  validateProtocol,
  validateStamps,
} from '../../core/stamp/index.ts'
import type { Clock } from '../../ports/clock.ts'
import type { StampPage, StampStore, StoredStamp } from './store.ts'

export interface StampingOptions {
  /** Items of one batch processed at once. */
  batchConcurrency: number
}

export interface StampRequest {
  content: Uint8Array
  namespace: string
  stampType: StampType
  filePath?: string | undefined
  contentType?: string | undefined
  intelligenceData?: Record<string, unknown> | undefined
}

export interface StampOutcome {
  /** The stamped content; null when the content is binary and got a sidecar instead. */
  stampedContent: Uint8Array | null
  /** The sidecar document to write beside the content (binary content, JSON, CSV). */
  sidecar: StampDocument | null
  /** Where that sidecar goes, when the request named the file. */
  sidecarPath: string | null
  fileHash: string
  stampType: StoredStamp['stamp_type']
  fileKind: string
  /** False when the content already carried this very stamp. */
  changed: boolean
  /** False when (file_hash, namespace) was stored before. */
  created: boolean
  record: StoredStamp
}

export interface ValidateRequest {
  content: Uint8Array
  filePath?: string | undefined
  contentType?: string | undefined
  sidecar?: unknown
}

export type BatchItemResult =
  | { index: number; status: 'success'; data: StampOutcome }
  | { index: number; status: 'error'; error: OnexError }

/**
 * MetadataStampingService: hashes content, stamps it, validates stamps, stores and finds records.
 * Framework-free: HTTP routes and CLI commands parse their input and call these methods.
 */
export class StampingService {
  #store: StampStore
  #blake3: Blake3
  #clock: Clock
  #options: StampingOptions

  constructor(deps: { store: StampStore; blake3: Blake3; clock: Clock; options: StampingOptions }) {
    this.#store = deps.store
    this.#blake3 = deps.blake3
    this.#clock = deps.clock
    this.#options = deps.options
  }

  get hashBackend(): string {
    return this.#blake3.backend
  }

  /** BLAKE3 of the bytes exactly as given (what `b3sum` prints). */
  hash(content: Uint8Array): { fileHash: string; sizeBytes: number; executionTimeMs: number } {
    const started = performance.now()
    const fileHash = this.#blake3.hashHex(content)
    const executionTimeMs = performance.now() - started
    this.#observe('hash', content.byteLength, executionTimeMs)
    return { fileHash, sizeBytes: content.byteLength, executionTimeMs }
  }

  async stamp(request: StampRequest): Promise<StampOutcome> {
    const opId = randomUUID()
    let result = this.#createStamp(request, randomUUID(), this.#clock.now().toISOString())
    const { record, created } = await this.#store.upsert({
      file_hash: result.fileHash,
      namespace: result.stamp.namespace,
      file_path: request.filePath ?? null,
      file_size: request.content.byteLength,
      content_type: result.fileType.contentType,
      stamp_type: result.stampType,
      stamp_data: { ...result.stamp },
      intelligence_data: request.intelligenceData ?? null,
      protocol_version: result.stamp.protocol_version,
      op_id: opId,
    })
    // The content was stamped before in this namespace: keep its first identity, so that stamping
    // the same content again yields the same stamp.
    const uid = String(record.stamp_data['uid'])
    if (uid !== result.stamp.uid) {
      result = this.#createStamp(request, uid, String(record.stamp_data['timestamp']))
    }
    return {
      stampedContent: result.stampedBytes,
      sidecar: result.sidecar,
      sidecarPath: result.sidecar && request.filePath ? sidecarPath(request.filePath) : null,
      fileHash: result.fileHash,
      stampType: result.stampType,
      fileKind: result.fileType.kind,
      changed: result.changed,
      created,
      record,
    }
  }

  validate(request: ValidateRequest) {
    const started = performance.now()
    const report = validateStamps({
      bytes: request.content,
      filePath: request.filePath,
      contentType: request.contentType,
      sidecar: request.sidecar,
      hash: (bytes) => this.#blake3.hashHex(bytes),
    })
    this.#observe('validate', request.content.byteLength, performance.now() - started)
    return report
  }

  /**
   * Each item stands alone: a bad item, or one that met a database outage, is reported in its slot and
   * never sinks the others, so the caller always learns which items were stored.
   */
  async batch(items: readonly StampRequest[]): Promise<BatchItemResult[]> {
    return mapWithConcurrency(items, this.#options.batchConcurrency, async (item, index) => {
      try {
        return { index, status: 'success', data: await this.stamp(item) } as const
      } catch (err) {
        const error = isOnexError(err)
          ? err
          : new OnexError('ONEX_CORE_001_INTERNAL_ERROR', 'the item could not be stamped', { cause: err })
        return { index, status: 'error', error } as const
      }
    })
  }

  validateProtocol(metadata: unknown) {
    return validateProtocol(metadata)
  }

  async findByHash(fileHash: string, namespace?: string): Promise<StoredStamp[]> {
    const records = namespace
      ? [await this.#store.find(fileHash, namespace)].filter((r) => r !== undefined)
      : await this.#store.findByHash(fileHash)
    if (records.length === 0) {
      const where = namespace ? ` in namespace ${namespace}` : ''
      throw new NotFoundError(`no stamp with file_hash ${fileHash}${where}`, { file_hash: fileHash })
    }
    return records
  }

  listNamespace(namespace: string, limit: number, cursor?: string): Promise<StampPage> {
    return this.#store.page(namespace, limit, cursor)
  }

  #createStamp(request: StampRequest, uid: string, timestamp: string): StampResult {
    const started = performance.now()
    const result = createStamp({
      bytes: request.content,
      filePath: request.filePath,
      contentType: request.contentType,
      namespace: request.namespace,
      stampType: request.stampType,
      uid,
      timestamp,
      hash: (bytes) => this.#blake3.hashHex(bytes),
    })
    this.#observe('stamp', request.content.byteLength, performance.now() - started)
    return result
  }

  #observe(operation: HashObservation['operation'], bytes: number, durationMs: number): void {
    if (channels.hash.hasSubscribers) {
      channels.hash.publish({
        operation,
        bytes,
        durationMs,
        backend: this.#blake3.backend,
      } satisfies HashObservation)
    }
  }
}
