import { randomUUID } from 'node:crypto'
import { mapWithConcurrency } from '../../core/concurrency.ts'
import { channels, type HashObservation } from '../../core/diagnostics.ts'
import { roundMs } from '../../core/duration.ts'
import { isOnexError, NotFoundError, OnexError } from '../../core/errors.ts'
import { GroupCommit } from '../../core/group-commit.ts'
import type { Blake3 } from '../../core/hashing/blake3.ts'
import {
  createStamp,
  type StampDocument,
  type StampResult,
  sidecarPath,
  validateProtocol,
  validateStamps,
} from '../../core/stamp/index.ts'
import type { Clock } from '../../ports/clock.ts'
import type { Queryable } from '../../ports/database.ts'
import type { Outbox } from '../../ports/outbox.ts'
import type { StamperRequest } from '../../ports/stamper.ts'
import type { EventContext, StampingEvents } from './events.ts'
import type { StampPage, StampStore, StoredStamp } from './store.ts'

export interface StampingOptions {
  /** Items of one batch processed at once. */
  batchConcurrency: number
}

/** What to stamp: the Stamper port's request, which this service implements for the orchestrator. */
export type StampRequest = StamperRequest

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

/** One stamp to write, with the context its event carries. */
export interface StampItem {
  request: StampRequest
  context?: EventContext | undefined
}

/** An item with its stamp made: what a transaction writes. */
interface PreparedStamp extends StampItem {
  result: StampResult
  sidecarFile: string | null
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

export interface StampingServiceDeps {
  store: StampStore
  blake3: Blake3
  clock: Clock
  outbox: Outbox
  events: StampingEvents
  options: StampingOptions
}

/**
 * MetadataStampingService: hashes content, stamps it, validates stamps, stores and finds records.
 * Framework-free: HTTP routes and CLI commands parse their input and call these methods.
 *
 * Events go through the outbox: a stamp's METADATA_STAMP_CREATED is written in the transaction that
 * stores the stamp (both or neither), METADATA_BATCH_PROCESSED after the batch. BLAKE3_HASH_GENERATED
 * and METADATA_STAMP_VALIDATED announce no stored change: they are deferred (written in batches within
 * about a second), so that /hash and /validate stay pure computation and keep working without a database.
 */
export class StampingService {
  #store: StampStore
  #blake3: Blake3
  #clock: Clock
  #outbox: Outbox
  #events: StampingEvents
  #options: StampingOptions
  /** The standalone stamps (POST /stamp, /batch's items) of concurrent callers, in shared transactions. */
  #stamps: GroupCommit<PreparedStamp, StampOutcome, Queryable>

  constructor(deps: StampingServiceDeps) {
    this.#store = deps.store
    this.#blake3 = deps.blake3
    this.#clock = deps.clock
    this.#outbox = deps.outbox
    this.#events = deps.events
    this.#options = deps.options
    this.#stamps = new GroupCommit({
      transaction: (fn) => this.#store.transaction(fn),
      committed: () => this.#outbox.notify(),
      write: (tx, items) => this.#write(items, tx),
    })
  }

  get hashBackend(): string {
    return this.#blake3.backend
  }

  /** BLAKE3 of the bytes exactly as given (what `b3sum` prints). */
  hash(
    content: Uint8Array,
    context: EventContext = {},
  ): { fileHash: string; sizeBytes: number; executionTimeMs: number } {
    const started = performance.now()
    const fileHash = this.#blake3.hashHex(content)
    const executionTimeMs = roundMs(performance.now() - started)
    this.#observe('hash', content.byteLength, executionTimeMs)
    const result = { fileHash, sizeBytes: content.byteLength, executionTimeMs }
    this.#outbox.defer([this.#events.hashGenerated(result, this.#blake3.backend, context)])
    return result
  }

  /**
   * Stamps and stores. With `tx` (the orchestrator's stamp_creation step, through the Stamper port the
   * runtime implements with this service) the record and its event are written in the caller's
   * transaction, which the caller commits and follows with `outbox.notify()`.
   *
   * Without, the stamps that concurrent callers (POST /stamp, /batch's items) ask for at about the
   * same time share one transaction, a group commit: each answer still waits for its commit, and on
   * PGlite a commit each held POST /stamp near 250 req/s at 100 connections. The stamp is made (and
   * the request checked) before it joins a group, so that a bad request fails alone at once; a
   * group that still fails in the database is written again item by item.
   */
  async stamp(request: StampRequest, context: EventContext = {}, tx?: Queryable): Promise<StampOutcome> {
    const prepared = this.#prepare({ request, context }, randomUUID(), this.#clock.now().toISOString())
    if (!tx) return this.#stamps.submit(prepared)
    const [outcome] = await this.#write([prepared], tx)
    return outcome!
  }

  /**
   * Stamps and stores any number of items with `tx`, as `stamp` does each one, in one statement for
   * the records and one for their METADATA_STAMP_CREATED events (in the items' order); the caller
   * commits and follows with `outbox.notify()`. The same content twice is stamped once and refreshed
   * once, as two calls in a row would.
   */
  stampMany(items: ReadonlyArray<StampItem>, tx: Queryable): Promise<StampOutcome[]> {
    const at = this.#clock.now().toISOString()
    return this.#write(
      items.map((item) => this.#prepare(item, randomUUID(), at)),
      tx,
    )
  }

  /** The stamp of an item as a new record would have it; throws on a bad request. */
  #prepare(item: StampItem, uid: string, at: string): PreparedStamp {
    const { request } = item
    const result = this.#createStamp(request, uid, at)
    const sidecarFile = result.sidecar && request.filePath ? sidecarPath(request.filePath) : null
    return { ...item, result, sidecarFile }
  }

  async #write(items: readonly PreparedStamp[], tx: Queryable): Promise<StampOutcome[]> {
    const stored = await this.#store.upsertMany(
      items.map(({ request, result }) => ({
        file_hash: result.fileHash,
        namespace: result.stamp.namespace,
        file_path: request.filePath ?? null,
        file_size: request.content.byteLength,
        content_type: result.fileType.contentType,
        stamp_type: result.stampType,
        stamp_data: { ...result.stamp },
        intelligence_data: request.intelligenceData ?? null,
        protocol_version: result.stamp.protocol_version,
        op_id: randomUUID(),
      })),
      tx,
    )
    await this.#outbox.append(
      tx,
      stored.map((s, i) => this.#events.stampCreated(s.record, s.created, items[i]!.context ?? {})),
    )
    return items.map(({ request, result: made, sidecarFile }, i) => {
      const { record, created: isNew } = stored[i]!
      let result = made
      // The content was stamped before in this namespace: keep its first identity, so that stamping
      // the same content again yields the same stamp.
      const uid = String(record.stamp_data['uid'])
      if (uid !== result.stamp.uid) {
        result = this.#createStamp(request, uid, String(record.stamp_data['timestamp']))
      }
      return {
        stampedContent: result.stampedBytes,
        sidecar: result.sidecar,
        sidecarPath: sidecarFile,
        fileHash: result.fileHash,
        stampType: result.stampType,
        fileKind: result.fileType.kind,
        changed: result.changed,
        created: isNew,
        record,
      }
    })
  }

  validate(request: ValidateRequest, context: EventContext = {}) {
    const started = performance.now()
    const report = validateStamps({
      bytes: request.content,
      filePath: request.filePath,
      contentType: request.contentType,
      sidecar: request.sidecar,
      hash: (bytes) => this.#blake3.hashHex(bytes),
    })
    this.#observe('validate', request.content.byteLength, performance.now() - started)
    this.#outbox.defer([this.#events.stampValidated(report, context)])
    return report
  }

  /**
   * Each item stands alone: a bad item (an error in its slot: the caller could not even parse it), or
   * one that met a database outage, is reported in its slot and never sinks the others, so the caller
   * always learns which items were stored. METADATA_BATCH_PROCESSED counts them all.
   */
  async batch(
    items: ReadonlyArray<StampRequest | OnexError>,
    context: EventContext = {},
  ): Promise<BatchItemResult[]> {
    const results = await mapWithConcurrency(
      items,
      this.#options.batchConcurrency,
      async (item, index): Promise<BatchItemResult> => {
        if (item instanceof OnexError) return { index, status: 'error', error: item }
        try {
          return { index, status: 'success', data: await this.stamp(item, context) }
        } catch (err) {
          const error = isOnexError(err)
            ? err
            : new OnexError('ONEX_CORE_001_INTERNAL_ERROR', 'the item could not be stamped', { cause: err })
          return { index, status: 'error', error }
        }
      },
    )
    const succeeded = results.filter((r) => r.status === 'success').length
    const summary = this.#events.batchProcessed(
      { total: results.length, succeeded, failed: results.length - succeeded },
      context,
    )
    // The items are stored and answered for whatever happens here: when the database is away, the
    // summary waits in the deferred buffer instead of failing the whole request.
    await this.#outbox.write([summary]).catch(() => this.#outbox.defer([summary]))
    return results
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
