export interface RecurringOptions {
  /** A run starts this often (a run still in flight is not doubled: the tick is skipped). */
  everyMs: number
  /** Also run once at start. @default false */
  atStart?: boolean
  /** A run failed; the next tick runs again. */
  onError: (err: unknown) => void
}

/**
 * Background work on a timer, one run at a time, that a stop waits for: the retention prunes. Each
 * run gets a signal that stop() aborts, so that work in batches (inBatches) ends after the batch in
 * flight rather than outliving the database it runs on. The timer does not hold the process open.
 */
export class Recurring {
  #run: (signal: AbortSignal) => Promise<unknown>
  #options: RecurringOptions
  #timer: NodeJS.Timeout | undefined
  #running: Promise<void> | undefined
  #stopping = new AbortController()

  constructor(run: (signal: AbortSignal) => Promise<unknown>, options: RecurringOptions) {
    this.#run = run
    this.#options = options
  }

  start(): void {
    if (this.#timer) return
    this.#stopping = new AbortController()
    if (this.#options.atStart) this.#tick()
    this.#timer = setInterval(() => this.#tick(), this.#options.everyMs).unref()
  }

  /** No run starts after this; the one in flight is aborted and waited for. */
  async stop(): Promise<void> {
    clearInterval(this.#timer)
    this.#timer = undefined
    this.#stopping.abort()
    await this.#running
  }

  #tick(): void {
    this.#running ??= this.#run(this.#stopping.signal)
      .then(
        () => {},
        (err: unknown) => this.#options.onError(err),
      )
      .finally(() => {
        this.#running = undefined
      })
  }
}
