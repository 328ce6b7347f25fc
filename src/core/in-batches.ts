import { setTimeout as sleep } from 'node:timers/promises'

export interface InBatchesOptions {
  /** Rows per batch. @default 1000 */
  batchSize?: number
  /**
   * Ends the work after the batch in flight (a stopping process), or before the first; what is left
   * waits for the next run.
   */
  signal?: AbortSignal | undefined
}

/**
 * Runs `batch` (work on at most `limit` rows that resolves with the rows it did) again and again
 * until one does fewer than `limit`; resolves with the rows done in all. For retention, which one
 * statement would do at once:
 * - on PGlite a statement runs on the process's only thread, so one DELETE of hundreds of thousands
 *   of rows stops every request and timer while it runs (300,000 event log rows: 0.9 s);
 * - on PostgreSQL it holds its locks and writes all its WAL in one burst.
 * After each batch it waits as long as that batch took: while it catches up, retention takes at most
 * about half of the database's time, and the queries queued meanwhile go first.
 */
export async function inBatches(
  batch: (limit: number) => Promise<number>,
  options: InBatchesOptions = {},
): Promise<number> {
  const limit = options.batchSize ?? 1000
  let total = 0
  while (!options.signal?.aborted) {
    const started = performance.now()
    const done = await batch(limit)
    total += done
    if (done < limit || options.signal?.aborted) return total
    try {
      await sleep(performance.now() - started, undefined, options.signal ? { signal: options.signal } : {})
    } catch {
      return total // aborted while waiting
    }
  }
  return total
}
