import type { EventLogStore, NewEventLogEntry } from './event-log-store.ts'
import { recordTime } from './record-time.ts'

export interface EventLogRecorderOptions {
  /**
   * Flush when this many entries wait; also the most rows one statement writes. Why not more: the
   * embedded PostgreSQL runs each statement on this thread, so a statement of N rows stops every
   * request for as long as it runs. Under POST /hash at 100 connections (an entry per request, about
   * 10,000 a second) 500 made the p97.5 latency 21-24 ms and the p99 24-28 ms; 100 made them 16 ms and
   * 19-22 ms, at the same rate (p50 8 -> 10 ms: more, shorter stops).
   * @default 100
   */
  batchSize?: number
  /** Flush at least this often. @default 1000 */
  flushIntervalMs?: number
  /** Entries kept while the database is away; the oldest are dropped first. @default 10000 */
  maxBuffered?: number
  onError?: (err: unknown) => void
}

/**
 * Writes event log entries off the consumers' hot path: `record` only buffers (bounded: these are
 * traces, not acknowledged data), and a timer or a full batch inserts them, many per statement.
 */
export class EventLogRecorder {
  #store: EventLogStore
  #buffer: NewEventLogEntry[] = []
  #opts: Required<Omit<EventLogRecorderOptions, 'onError'>>
  #onError: (err: unknown) => void
  #timer: NodeJS.Timeout | undefined
  #flushing: Promise<void> | undefined
  dropped = 0

  constructor(store: EventLogStore, options: EventLogRecorderOptions = {}) {
    this.#store = store
    this.#opts = {
      batchSize: options.batchSize ?? 100,
      flushIntervalMs: options.flushIntervalMs ?? 1000,
      maxBuffered: options.maxBuffered ?? 10_000,
    }
    this.#onError = options.onError ?? (() => {})
  }

  start(): void {
    this.#timer ??= setInterval(() => void this.flush(), this.#opts.flushIntervalMs).unref()
  }

  record(entry: NewEventLogEntry): void {
    if (this.#buffer.length >= this.#opts.maxBuffered) {
      this.#buffer.shift()
      this.dropped++
    }
    this.#buffer.push({ recorded_at: recordTime(), ...entry })
    if (this.#buffer.length >= this.#opts.batchSize) void this.flush()
  }

  /** Writes what is buffered; concurrent calls share one write. Never throws (onError is told). */
  flush(): Promise<void> {
    this.#flushing ??= this.#write().finally(() => {
      this.#flushing = undefined
    })
    return this.#flushing
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer)
    this.#timer = undefined
    await this.flush()
    if (this.#buffer.length) await this.flush()
  }

  async #write(): Promise<void> {
    while (this.#buffer.length) {
      const batch = this.#buffer.splice(0, this.#opts.batchSize)
      try {
        await this.#store.insert(batch)
      } catch (err) {
        this.#onError(err)
        this.#buffer.unshift(...batch)
        const excess = this.#buffer.length - this.#opts.maxBuffered
        if (excess > 0) {
          this.#buffer.splice(0, excess)
          this.dropped += excess
        }
        return
      }
    }
  }
}
