import type { OnexEnvelopeV1 } from '../../../core/events/envelope.ts'

/**
 * One message of a partition: from `publish`, a checked and frozen envelope, shared by every delivery;
 * from `publishRaw`, the bytes or text as given (`value`), parsed at the first delivery, which sets
 * either `envelope` or `invalid` (the reason it is no envelope).
 */
export class Entry {
  readonly key: string | null
  readonly value: string | Uint8Array | undefined
  envelope: OnexEnvelopeV1 | undefined
  invalid: string | undefined

  constructor(
    key: string | null,
    value: string | Uint8Array | undefined,
    envelope: OnexEnvelopeV1 | undefined,
  ) {
    this.key = key
    this.value = value
    this.envelope = envelope
    this.invalid = undefined
  }
}

/** What reads a partition: told when messages arrive; its position pins retention. */
export interface PartitionReader {
  /** The next offset it will read (its group's committed offset). */
  readonly position: number
  /** A live subscriber reads it now (a group whose members all left keeps its reader, idle). */
  readonly active: boolean
  wake(): void
}

interface ConsumedWaiter {
  offset: number
  resolve: () => void
}

/**
 * An append-only log with offsets. Retention is by count: at least `retain` messages are kept; older
 * ones are dropped, in steps of `retain / 8` so that trimming stays cheap, but never one that a reader
 * (a consumer group that ever read this partition) has not committed yet.
 */
export class PartitionLog {
  readonly index: number
  /** Offset of `entries[0]`. */
  start = 0
  entries: Entry[] = []
  readonly readers = new Set<PartitionReader>()
  readonly #retain: number
  readonly #slack: number
  #notifying = false
  /** untilConsumed callers, by increasing offset (offsets are appended in order). */
  #waiters: ConsumedWaiter[] = []

  constructor(index: number, retain: number) {
    this.index = index
    this.#retain = retain
    this.#slack = Math.max(1, retain >> 3)
  }

  /** The offset the next message will get. */
  get end(): number {
    return this.start + this.entries.length
  }

  at(offset: number): Entry | undefined {
    return this.entries[offset - this.start]
  }

  /** Appends and returns the offset; readers are woken once per turn, however many messages came. */
  append(entry: Entry): number {
    const offset = this.end
    this.entries.push(entry)
    if (this.entries.length >= this.#retain + this.#slack) this.#trim()
    if (!this.#notifying) {
      this.#notifying = true
      queueMicrotask(this.#notify)
    }
    return offset
  }

  /**
   * Resolves once every active reader has committed past `offset` (at once when none is active).
   * Readers call `settle` when they commit or change owner.
   */
  untilConsumed(offset: number): Promise<void> {
    if (offset < this.#consumedFloor()) return Promise.resolve()
    return new Promise((resolve) => {
      const waiters = this.#waiters
      // appended in offset order almost always; keep the order when two publishers interleave
      let at = waiters.length
      while (at > 0 && waiters[at - 1]!.offset > offset) at--
      waiters.splice(at, 0, { offset, resolve })
    })
  }

  /** Resolves the untilConsumed waiters that every active reader has now committed past. */
  settle(): void {
    if (this.#waiters.length === 0) return
    const floor = this.#consumedFloor()
    let done = 0
    while (done < this.#waiters.length && this.#waiters[done]!.offset < floor) done++
    if (done === 0) return
    for (const waiter of this.#waiters.splice(0, done)) waiter.resolve()
  }

  /** The lowest committed position among active readers (Infinity when none is active). */
  #consumedFloor(): number {
    let floor = Number.POSITIVE_INFINITY
    for (const reader of this.readers) if (reader.active && reader.position < floor) floor = reader.position
    return floor
  }

  #notify = (): void => {
    this.#notifying = false
    for (const reader of this.readers) reader.wake()
  }

  #trim(): void {
    let floor = this.end - this.#retain
    for (const reader of this.readers) floor = Math.min(floor, reader.position)
    const drop = floor - this.start
    // dropping a few at a time would shift the whole array per message: wait for a step's worth
    if (drop < this.#slack) return
    this.entries.splice(0, drop)
    this.start += drop
  }
}
