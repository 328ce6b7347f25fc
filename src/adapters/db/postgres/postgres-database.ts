import pg from 'pg'
import { ConfigError, type OnexError } from '../../../core/errors.ts'
import type {
  Database,
  DatabaseHealth,
  PoolStats,
  Queryable,
  QueryResult,
  Row,
} from '../../../ports/database.ts'
import { withSavepoint } from '../savepoint.ts'
import { toDomainError } from '../sql-errors.ts'
import { Session } from './session.ts'
import { StatementNames } from './statement-names.ts'
import { typeParsers } from './type-parsers.ts'

export interface PostgresOptions {
  /** `postgres://user[:password]@host[:port]/database[?...]`; parameters in the URL win over the options. */
  url: string
  /**
   * Most connections the pool opens (the seeds cap it at 50).
   * @default 10
   */
  poolSize?: number
  /**
   * Server-side limit of one statement (`statement_timeout`); beyond it the statement fails with
   * TimeoutError. The client gives up on a silent server {@link clientGraceMs} later.
   * @default 5000
   */
  statementTimeoutMs?: number
  /**
   * Limit to open a connection, and to wait for a free one when the pool is saturated
   * (both fail with UnavailableError).
   * @default 2000
   */
  connectionTimeoutMs?: number
  /**
   * `application_name`, shown in pg_stat_activity.
   * @default 'omninode-bridge'
   */
  applicationName?: string
  /**
   * Prepare each SQL text once per connection (StatementNames); off, every statement is sent unnamed
   * (for a pooler that does not keep prepared statements across its server connections).
   * @default true
   */
  preparedStatements?: boolean
  /** Called, at most every {@link poolWarningIntervalMs}, while more than 90% of the pool is in use. */
  onPoolWarning?: (inUse: number, size: number) => void
  /** An idle connection failed (server restart, network). The pool drops it and opens another on demand. */
  onPoolError?: (err: OnexError) => void
}

export const postgresDefaults = {
  poolSize: 10,
  maxPoolSize: 50,
  statementTimeoutMs: 5000,
  connectionTimeoutMs: 2000,
  applicationName: 'omninode-bridge',
} as const

/** How long after `statementTimeoutMs` the client abandons a query whose server went silent. */
export const clientGraceMs = 2000
/** Least time between two `onPoolWarning` calls. */
export const poolWarningIntervalMs = 10_000

/**
 * The production adapter: a `pg.Pool`. Opening does not connect (the pool connects on demand), so a
 * service can start while its database is down and report not-ready until it answers.
 *
 * Connections: every call checks one client out and always gives it back; a client whose connection
 * broke (network error, client-side timeout, failed ROLLBACK) is destroyed instead of being reused, and
 * one left inside a transaction is rolled back first. `query` uses the extended protocol (one statement,
 * like PGlite), each SQL text prepared once per connection (StatementNames); `execScript` the simple
 * protocol (several statements).
 */
export async function openPostgresDatabase(options: PostgresOptions): Promise<Database> {
  const o = resolveOptions(options)
  const pool = new pg.Pool({
    connectionString: o.url,
    max: o.poolSize,
    connectionTimeoutMillis: o.connectionTimeoutMs,
    idleTimeoutMillis: 10_000,
    allowExitOnIdle: true,
    keepAlive: true,
    application_name: o.applicationName,
    statement_timeout: o.statementTimeoutMs,
    query_timeout: o.statementTimeoutMs + clientGraceMs,
    types: typeParsers,
  })
  // An idle client whose connection dies emits 'error' on the pool; unhandled, it would crash the process.
  pool.on('error', (err) => o.onPoolError?.(toDomainError(err)))
  return new PostgresDatabase(pool, o)
}

type ResolvedOptions = Required<Omit<PostgresOptions, 'onPoolWarning' | 'onPoolError'>> &
  Pick<PostgresOptions, 'onPoolWarning' | 'onPoolError'>

function resolveOptions(options: PostgresOptions): ResolvedOptions {
  let protocol: string
  try {
    protocol = new URL(options.url).protocol
  } catch {
    throw new ConfigError('url', 'not a URL (expected postgres://user@host:port/database)')
  }
  if (protocol !== 'postgres:' && protocol !== 'postgresql:') {
    throw new ConfigError('url', `expected a postgres:// or postgresql:// URL, got ${protocol}//`)
  }
  const o = {
    ...options,
    poolSize: options.poolSize ?? postgresDefaults.poolSize,
    statementTimeoutMs: options.statementTimeoutMs ?? postgresDefaults.statementTimeoutMs,
    connectionTimeoutMs: options.connectionTimeoutMs ?? postgresDefaults.connectionTimeoutMs,
    applicationName: options.applicationName ?? postgresDefaults.applicationName,
    preparedStatements: options.preparedStatements ?? true,
  }
  if (!Number.isInteger(o.poolSize) || o.poolSize < 1 || o.poolSize > postgresDefaults.maxPoolSize) {
    throw new ConfigError('poolSize', `expected an integer from 1 to ${postgresDefaults.maxPoolSize}`)
  }
  for (const key of ['statementTimeoutMs', 'connectionTimeoutMs'] as const) {
    if (!Number.isInteger(o[key]) || o[key] < 1) throw new ConfigError(key, 'expected a positive integer')
  }
  return o
}

class PostgresDatabase implements Database {
  readonly dialect = 'postgres'
  #pool: pg.Pool
  #options: ResolvedOptions
  #closing: Promise<void> | undefined
  #lastWarning = Number.NEGATIVE_INFINITY
  /** Shared by the pool's connections: each prepares a text once, under the same name. */
  #statementNames: StatementNames

  constructor(pool: pg.Pool, options: ResolvedOptions) {
    this.#pool = pool
    this.#options = options
    this.#statementNames = new StatementNames(options.preparedStatements ? undefined : 0)
    if (options.onPoolWarning) pool.on('acquire', () => this.#checkSaturation())
  }

  query<R extends Row = Row>(sql: string, params?: readonly unknown[]): Promise<QueryResult<R>> {
    return this.#withSession((s) => s.query<R>(sql, params))
  }

  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
    return this.#withSession(async (s) => {
      await s.query('BEGIN')
      let result: T
      try {
        result = await fn(new PostgresTransaction(s, 0))
      } catch (err) {
        await s.rollback()
        // the session's queries already threw domain errors; anything else is the caller's own
        throw err
      }
      // A lost connection here leaves the outcome unknown to us: the caller gets UnavailableError.
      await s.commit()
      return result
    })
  }

  execScript(sql: string): Promise<void> {
    return this.#withSession(async (s) => {
      await s.script(sql)
    })
  }

  async health(): Promise<DatabaseHealth> {
    const started = performance.now()
    try {
      await this.#withSession((s) => s.query('SELECT 1', undefined, this.#options.connectionTimeoutMs))
      return { ok: true, latencyMs: performance.now() - started }
    } catch (err) {
      return { ok: false, latencyMs: performance.now() - started, error: toDomainError(err).message }
    }
  }

  stats(): PoolStats {
    const p = this.#pool
    return { total: p.totalCount, idle: p.idleCount, waiting: p.waitingCount, size: this.#options.poolSize }
  }

  close(): Promise<void> {
    this.#closing ??= this.#pool.end()
    return this.#closing
  }

  async #withSession<T>(fn: (s: Session) => Promise<T>): Promise<T> {
    let client: pg.PoolClient
    try {
      client = await this.#pool.connect()
    } catch (err) {
      throw toDomainError(err)
    }
    const session = new Session(client, this.#statementNames)
    try {
      return await fn(session)
    } finally {
      await session.release()
    }
  }

  #checkSaturation(): void {
    const size = this.#options.poolSize
    const inUse = this.#pool.totalCount - this.#pool.idleCount
    if (inUse * 10 <= size * 9) return
    const now = performance.now()
    if (now - this.#lastWarning < poolWarningIntervalMs) return
    this.#lastWarning = now
    try {
      this.#options.onPoolWarning?.(inUse, size)
    } catch {
      // a failing listener must not fail the checkout that triggered it
    }
  }
}

/** A transaction on one checked-out client, or a savepoint inside it when `transaction` is called again. */
class PostgresTransaction implements Queryable {
  #session: Session
  #depth: number

  constructor(session: Session, depth: number) {
    this.#session = session
    this.#depth = depth
  }

  query<R extends Row = Row>(sql: string, params?: readonly unknown[]): Promise<QueryResult<R>> {
    return this.#session.query<R>(sql, params)
  }

  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
    const depth = this.#depth + 1
    return withSavepoint(
      (sql) => this.#session.query(sql),
      depth,
      () => fn(new PostgresTransaction(this.#session, depth)),
    )
  }
}
