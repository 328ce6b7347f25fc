export interface BatchBufferOptions<T> {
  /** Writes one batch, oldest item first; a throw puts the batch back for the next flush. */
  write: (batch: T[]) => Promise<void>
  /** A flush starts once this many items wait; also the most one write is given. */
  batchSize: number
  /** Items wait at most about this long: a timer flushes what is there. */
  flushIntervalMs: number
  /** Items kept while writes fail; beyond it the oldest are dropped (and counted in `dropped`). */
  maxBuffered: number
  /** A write failed; its batch was kept (within the bound). */
  onError?: (err: unknown) => void
}

/** Items taken from the front before the array is copied down (so that a take or a drop is O(1)). */
const compactAfter = 1024

/**
 * What the bridge writes off the request path, in batches, and may lose: event log entries, hash
 * timings, informational events. Bounded, oldest dropped first: they are traces and measurements, not
 * acknowledged data, so a store that is away must not grow this process's memory without end.
 *
 * - Written when `batchSize` items wait, and by a timer within `flushIntervalMs` of the first item
 *   that waits; one write at a time, batches in order.
 * - A failed write puts its batch back at the front. Until a write succeeds again, only the timer
 *   (and explicit flushes) try; else a store that is away would be retried, and reported to
 *   `onError`, once for every item added.
 * - Dropping and taking from the front cost O(1): `Array.prototype.splice(0, 1)` on a full buffer of
 *   10,000 took 40 µs (it moves every item), more than a whole POST /hash.
 */
export class BatchBuffer<T> {
  /** Items dropped because the buffer was full. */
  dropped = 0
  #options: BatchBufferOptions<T>
  #items: T[] = []
  /** Where the items still waiting start in #items. */
  #head = 0
  #flushing: Promise<void> | undefined
  #timer: NodeJS.Timeout | undefined
  #failing = false
  #stopped = false

  constructor(options: BatchBufferOptions<T>) {
    this.#options = options
  }

  /** Items waiting. */
  get length(): number {
    return this.#items.length - this.#head
  }

  add(item: T): void {
    this.#items.push(item)
    this.#added()
  }

  addAll(items: readonly T[]): void {
    for (const item of items) this.#items.push(item)
    this.#added()
  }

  /** Writes what waits, batch after batch; concurrent calls share one flush. Never throws. */
  flush(): Promise<void> {
    clearTimeout(this.#timer)
    this.#timer = undefined
    this.#flushing ??= this.#drain().finally(() => {
      this.#flushing = undefined
      this.#arm()
    })
    return this.#flushing
  }

  /** No timer after this; what waits gets one more try (two flushes, for what came during the first). */
  async stop(): Promise<void> {
    this.#stopped = true
    await this.flush()
    // each flush cleared the timer, and a stopped buffer arms none
    if (this.length > 0) await this.flush()
  }

  #added(): void {
    const excess = this.length - this.#options.maxBuffered
    if (excess > 0) this.#dropOldest(excess)
    if (!this.#failing && this.length >= this.#options.batchSize) void this.flush()
    else this.#arm()
  }

  #arm(): void {
    if (this.#timer || this.#stopped || this.length === 0) return
    this.#timer = setTimeout(() => void this.flush(), this.#options.flushIntervalMs).unref()
  }

  async #drain(): Promise<void> {
    while (this.length > 0) {
      const batch = this.#items.slice(this.#head, this.#head + this.#options.batchSize)
      this.#head += batch.length
      this.#compact()
      try {
        await this.#options.write(batch)
        this.#failing = false
      } catch (err) {
        this.#failing = true
        this.#options.onError?.(err)
        this.#putBack(batch)
        return
      }
    }
  }

  /** The batch goes before what came meanwhile, still within the bound (its own oldest go first). */
  #putBack(batch: T[]): void {
    this.#items = batch.concat(this.#items.slice(this.#head))
    this.#head = 0
    const excess = this.length - this.#options.maxBuffered
    if (excess > 0) this.#dropOldest(excess)
  }

  #dropOldest(count: number): void {
    this.#head += count
    this.dropped += count
    this.#compact()
  }

  #compact(): void {
    if (this.#head === this.#items.length) {
      this.#items = []
      this.#head = 0
    } else if (this.#head >= compactAfter && this.#head * 2 >= this.#items.length) {
      this.#items = this.#items.slice(this.#head)
      this.#head = 0
    }
  }
}
