/**
 * Admission for workflows: at most `maxRunning` run at once, at most `maxQueued` wait for a slot,
 * and anything beyond is refused at once (the caller answers 429). Admission is all or nothing for a
 * request of several items, so a client never learns that half of its batch was taken.
 */
export class WorkflowLimiter {
  readonly maxRunning: number
  readonly maxQueued: number
  #running = 0
  #waiting: Array<() => void> = []
  /** Slots promised to admitted work that has not asked for its slot yet. */
  #reserved = 0

  constructor(maxRunning: number, maxQueued: number) {
    this.maxRunning = maxRunning
    this.maxQueued = maxQueued
  }

  get running(): number {
    return this.#running
  }

  get queued(): number {
    return this.#waiting.length + this.#reserved
  }

  /** Reserves room for `n` workflows (running or queued); false when there is not room for all of them. */
  admit(n: number): boolean {
    const free = this.maxRunning - this.#running + this.maxQueued - this.#waiting.length - this.#reserved
    if (n > free) return false
    this.#reserved += n
    return true
  }

  /** Gives back room reserved by `admit` that will not be used. */
  release(n: number): void {
    this.#reserved = Math.max(0, this.#reserved - n)
  }

  /** Waits for a running slot; `reserved`: the caller was admitted (its reservation is used up). */
  async acquire(reserved: boolean): Promise<void> {
    if (reserved) this.#reserved = Math.max(0, this.#reserved - 1)
    if (this.#running < this.maxRunning) {
      this.#running++
      return
    }
    await new Promise<void>((resolve) => this.#waiting.push(resolve))
  }

  /**
   * Takes a running slot for admitted work if one is free now (its reservation is used up), without
   * waiting; false (the reservation kept) when every slot is taken.
   */
  tryAcquire(): boolean {
    if (this.#running >= this.maxRunning || this.#waiting.length > 0) return false
    this.#reserved = Math.max(0, this.#reserved - 1)
    this.#running++
    return true
  }

  /** Frees a running slot: the longest waiter takes it over. */
  done(): void {
    const next = this.#waiting.shift()
    if (next) next()
    else this.#running--
  }
}
