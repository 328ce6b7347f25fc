/**
 * The Database port: the only way nodes reach their tables. Two adapters implement it, PGlite
 * (embedded default) and PostgreSQL (`pg` pool), and both pass the same contract suite
 * (test/contract/database.test.ts). Adapters translate driver failures into domain errors:
 * unique violation → ConflictError, lost connection or timeout → UnavailableError / TimeoutError,
 * anything else → DatabaseError with the SQLSTATE in `details` and the driver error as `cause`.
 */

export type Row = Record<string, unknown>

export interface QueryResult<R extends Row = Row> {
  rows: R[]
  /** Rows returned or affected. */
  rowCount: number
}

export interface Queryable {
  /** One parameterised statement ($1, $2, ...). */
  query<R extends Row = Row>(sql: string, params?: readonly unknown[]): Promise<QueryResult<R>>
  /**
   * Runs `fn` in a transaction (a savepoint when already inside one): committed when `fn` resolves,
   * rolled back when it throws, and the error re-thrown.
   */
  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>
}

export interface DatabaseHealth {
  ok: boolean
  latencyMs: number
  error?: string
}

export interface PoolStats {
  /** Connections open now. */
  total: number
  idle: number
  /** Callers waiting for a connection. */
  waiting: number
  /** The pool's maximum size. */
  size: number
}

export interface Database extends Queryable {
  readonly dialect: 'pglite' | 'postgres'
  /** A script of several statements without parameters (migrations). */
  execScript(sql: string): Promise<void>
  /** A cheap round trip (`SELECT 1`) with its latency; never throws. */
  health(): Promise<DatabaseHealth>
  /** Connection pool usage, where the adapter has a pool (PGlite has one connection and omits it). */
  stats?(): PoolStats
  /** Waits for running work, then releases every connection. Idempotent. */
  close(): Promise<void>
}
