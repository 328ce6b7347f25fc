import { BatchBuffer } from '../../core/batch-buffer.ts'
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
  /** Entries wait at most about this long. @default 1000 */
  flushIntervalMs?: number
  /** Entries kept while the database is away; the oldest are dropped first. @default 10000 */
  maxBuffered?: number
  onError?: (err: unknown) => void
}

/**
 * Writes event log entries off the consumers' hot path: `record` only buffers (a BatchBuffer: bounded,
 * these are traces, not acknowledged data), and a timer or a full batch inserts them, many per statement.
 */
export class EventLogRecorder {
  #buffer: BatchBuffer<NewEventLogEntry>

  constructor(store: EventLogStore, options: EventLogRecorderOptions = {}) {
    this.#buffer = new BatchBuffer({
      write: (batch) => store.insert(batch),
      batchSize: options.batchSize ?? 100,
      flushIntervalMs: options.flushIntervalMs ?? 1000,
      maxBuffered: options.maxBuffered ?? 10_000,
      ...(options.onError && { onError: options.onError }),
    })
  }

  /** Entries dropped because the buffer was full (the database away). */
  get dropped(): number {
    return this.#buffer.dropped
  }

  record(entry: NewEventLogEntry): void {
    this.#buffer.add({ recorded_at: recordTime(), ...entry })
  }

  /** Writes what is buffered; concurrent calls share one write. Never throws (onError is told). */
  flush(): Promise<void> {
    return this.#buffer.flush()
  }

  /** Writes what is buffered, one last time. */
  stop(): Promise<void> {
    return this.#buffer.stop()
  }
}
