import type { StampType } from '../core/stamp/index.ts'
import type { Queryable } from './database.ts'

/**
 * How the orchestrator creates a stamp without knowing the stamping node: nodes never import each
 * other (DESIGN section 3), so the orchestrator owns this small port and the runtime implements it
 * with the stamping node's own StampingService, built even when the stamping node is not hosted.
 * That way a workflow's stamp is exactly a POST /stamp stamp: the same row in metadata_stamps, the
 * same identity rules, and one METADATA_STAMP_CREATED, written by the one piece of code that owns
 * that table. (A port rather than an event to the stamping node: the stamp must commit in the same
 * transaction as the workflow step that records it, which a request over the bus cannot give.)
 */
export interface Stamper {
  /**
   * Stamps each item's content and stores the records with `tx`, appending their
   * METADATA_STAMP_CREATED events to the outbox in that same transaction: all commit or none does.
   * Any number of items costs one statement for the records and one for the events; outcomes come
   * in the items' order.
   */
  stampMany(
    items: ReadonlyArray<{ request: StamperRequest; context: StamperContext }>,
    tx: Queryable,
  ): Promise<StamperOutcome[]>
}

export interface StamperRequest {
  content: Uint8Array
  namespace: string
  stampType: StampType
  filePath?: string | undefined
  contentType?: string | undefined
  intelligenceData?: Record<string, unknown> | undefined
}

export interface StamperContext {
  correlationId?: string | undefined
  sessionId?: string | undefined
}

export interface StamperOutcome {
  fileHash: string
  namespace: string
  stampType: 'lightweight' | 'rich' | 'sidecar'
  contentType: string
  fileSize: number
  fileKind: string
  /** False when (file_hash, namespace) was stored before. */
  created: boolean
  /** The stamped content; null for content that got a sidecar. */
  stampedContent: Uint8Array | null
  /** The sidecar document, for binary content, JSON and CSV. */
  sidecar: Record<string, unknown> | null
  /** The stored record's id and its stamp uid. */
  recordId: string
  uid: string
}
