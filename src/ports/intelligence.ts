/**
 * What the orchestrator's `onextree_intelligence` step asks: facts about a file (its type, size, lines,
 * language, and whatever OnexTree knows of it). Two implementations: the built-in local analyser (the
 * default, pure computation) and the OnexTree HTTP adapter, which falls back to the local analyser when
 * OnexTree is slow, failing or its circuit is open, and then says so with `degraded`.
 */
export interface IntelligenceClient {
  readonly kind: 'local' | 'onextree'
  /** Never throws for OnexTree's failures (it degrades); `signal` aborts a call the step gave up on. */
  analyse(input: IntelligenceInput, signal?: AbortSignal): Promise<Intelligence>
}

export interface IntelligenceInput {
  content: Uint8Array
  filePath?: string | undefined
  contentType?: string | undefined
  /** The content's BLAKE3 (of the bytes as given): the cache key. */
  contentHash: string
}

export interface Intelligence {
  /** Who answered. */
  source: 'local' | 'onextree'
  /** True when OnexTree was asked but the local analyser answered instead. */
  degraded: boolean
  /** Why it degraded (timeout, HTTP status, circuit open...). */
  reason?: string
  /** Stored with the stamp as intelligence_data. */
  data: Record<string, unknown>
}
