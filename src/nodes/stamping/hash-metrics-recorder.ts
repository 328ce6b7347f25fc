import diagnostics from 'node:diagnostics_channel'
import { BatchBuffer } from '../../core/batch-buffer.ts'
import { channels, type HashObservation } from '../../core/diagnostics.ts'
import type { Database } from '../../ports/database.ts'

export interface HashMetricsRecorderOptions {
  /** Flush when this many rows wait. @default 500 */
  batchSize?: number
  /** Rows wait at most about this long. @default 1000 */
  flushIntervalMs?: number
  /** Rows kept while the database is away; older ones are dropped first. @default 10000 */
  maxBuffered?: number
  /**
   * Rows kept per second at most; operations beyond it in the same second are counted in
   * `sampledOut` but not written. @default 100
   */
  maxRowsPerSecond?: number
  /** Daily partitions created ahead of today. @default 7 */
  partitionsAhead?: number
  /** Days of timings kept: the partitions of older days are dropped. @default 30 */
  retentionDays?: number
  /** Partitions were dropped (their days had passed the retention). */
  onDropped?: (partitions: number) => void
  onError?: (err: unknown) => void
}

const dayMs = 24 * 60 * 60 * 1000

/** recorded_at, operation, backend, input_bytes, duration_ms */
type HashMetricRow = [string, string, string, number, number]

/**
 * Writes hash timings to the partitioned `hash_metrics` table off the request path: it listens on the
 * `omninode:hash` channel, buffers (bounded: these are measurements, not acknowledged data), and
 * inserts in batches. It also keeps the daily partitions: created ahead, and dropped once their day has
 * passed the retention (at start and every 6 hours).
 *
 * The table is a sample: at most `maxRowsPerSecond` operations a second are written, the first ones of
 * each second. Writing every operation cost more than the hashing itself under load (on the embedded
 * PGlite, that database work runs on the request thread); the exact counts and latency distribution
 * are in the Prometheus histograms at /metrics.
 */
export class HashMetricsRecorder {
  #db: Database
  #buffer: BatchBuffer<HashMetricRow>
  #opts: Required<Omit<HashMetricsRecorderOptions, 'onError' | 'onDropped'>>
  #onError: (err: unknown) => void
  #onDropped: (partitions: number) => void
  #maintenance: NodeJS.Timeout | undefined
  #listener = (message: unknown) => this.#record(message as HashObservation)
  /** Operations not written because their second already had `maxRowsPerSecond` rows. */
  sampledOut = 0
  #second = 0
  #rowsThisSecond = 0

  constructor(db: Database, options: HashMetricsRecorderOptions = {}) {
    this.#db = db
    this.#opts = {
      batchSize: options.batchSize ?? 500,
      flushIntervalMs: options.flushIntervalMs ?? 1000,
      maxBuffered: options.maxBuffered ?? 10_000,
      maxRowsPerSecond: options.maxRowsPerSecond ?? 100,
      partitionsAhead: options.partitionsAhead ?? 7,
      retentionDays: options.retentionDays ?? 30,
    }
    this.#onError = options.onError ?? (() => {})
    this.#onDropped = options.onDropped ?? (() => {})
    this.#buffer = new BatchBuffer({
      write: (rows) => this.#write(rows),
      batchSize: this.#opts.batchSize,
      flushIntervalMs: this.#opts.flushIntervalMs,
      maxBuffered: this.#opts.maxBuffered,
      onError: this.#onError,
    })
  }

  /** Rows dropped because the buffer was full (the database away). */
  get dropped(): number {
    return this.#buffer.dropped
  }

  async start(): Promise<void> {
    await this.#maintainPartitions()
    diagnostics.subscribe(channels.hash.name, this.#listener)
    this.#maintenance = setInterval(
      () => void this.#maintainPartitions().catch(this.#onError),
      dayMs / 4,
    ).unref()
  }

  async #maintainPartitions(): Promise<void> {
    await this.ensurePartitions()
    const dropped = await this.dropExpiredPartitions()
    if (dropped > 0) this.#onDropped(dropped)
  }

  /** Creates the partitions of yesterday (late rows), today and the days ahead; returns how many were new. */
  async ensurePartitions(now = new Date()): Promise<number> {
    const yesterday = new Date(now.getTime() - dayMs).toISOString().slice(0, 10)
    const { rows } = await this.#db.query<{ created: number }>(
      'SELECT onex_ensure_hash_metrics_partitions($1::date, $2) AS created',
      [yesterday, this.#opts.partitionsAhead + 2],
    )
    return rows[0]?.created ?? 0
  }

  /**
   * Drops the partitions of the days before the retention (today's date, UTC, minus retentionDays):
   * what is kept always covers the last retentionDays days. Returns how many were dropped.
   */
  async dropExpiredPartitions(now = new Date()): Promise<number> {
    const before = new Date(now.getTime() - this.#opts.retentionDays * dayMs).toISOString().slice(0, 10)
    const { rows } = await this.#db.query<{ dropped: number }>(
      'SELECT onex_drop_hash_metrics_partitions($1::date) AS dropped',
      [before],
    )
    return rows[0]?.dropped ?? 0
  }

  /** Writes what is buffered; concurrent calls share one write. Never throws (onError is told). */
  flush(): Promise<void> {
    return this.#buffer.flush()
  }

  async stop(): Promise<void> {
    diagnostics.unsubscribe(channels.hash.name, this.#listener)
    clearInterval(this.#maintenance)
    await this.#buffer.stop()
  }

  #record(m: HashObservation): void {
    const now = Date.now()
    const second = Math.floor(now / 1000)
    if (second !== this.#second) {
      this.#second = second
      this.#rowsThisSecond = 0
    }
    if (this.#rowsThisSecond >= this.#opts.maxRowsPerSecond) {
      this.sampledOut++
      return
    }
    this.#rowsThisSecond++
    this.#buffer.add([new Date(now).toISOString(), m.operation, m.backend, m.bytes, m.durationMs])
  }

  async #write(rows: HashMetricRow[]): Promise<void> {
    // One array per column, unnested by the server: five parameters whatever the batch size. A
    // VALUES list of five parameters per row took about twice the database CPU per row to parse and
    // bind, which on the embedded PGlite is this process's own CPU, taken from the requests.
    const columns: unknown[][] = [[], [], [], [], []]
    for (const row of rows) for (let i = 0; i < row.length; i++) columns[i]!.push(row[i])
    await this.#db.query(
      `INSERT INTO hash_metrics (recorded_at, operation, backend, input_bytes, duration_ms)
       SELECT * FROM unnest($1::timestamptz[], $2::text[], $3::text[], $4::bigint[], $5::float8[])`,
      columns,
    )
  }
}
