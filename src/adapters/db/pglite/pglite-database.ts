import { existsSync, mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { PGlite } from '@electric-sql/pglite'
import type { Database, DatabaseHealth, Queryable, QueryResult, Row } from '../../../ports/database.ts'
import { withSavepoint } from '../savepoint.ts'
import { rolledBackCommitError, toDomainError } from '../sql-errors.ts'
import { lockDataDir } from './data-dir-lock.ts'
import { Maintenance } from './maintenance.ts'
import { PreparedStatements } from './prepared-statements.ts'
import { pgliteSettings } from './settings.ts'

export interface PgliteOptions {
  /** Directory of the data (the cluster goes in `pgdata/` inside it); omitted = in memory (tests). */
  dataDir?: string
  /**
   * How often the tables due for new planner statistics are analyzed (0: never); see Maintenance.
   * @default 60000 (autovacuum_naptime)
   */
  analyzeIntervalMs?: number
  /**
   * How often the tables due for a vacuum are vacuumed (0: never); see Maintenance. Shorter than
   * autovacuum_naptime: the event outbox's rows are dead within milliseconds of their insert, and a
   * minute of them under load is tens of MB of pages.
   * @default 1000
   */
  vacuumIntervalMs?: number
}

/**
 * The embedded default: PostgreSQL 17 compiled to WebAssembly, in this process.
 *
 * Durability, chosen on purpose (pgliteSettings): every query waits until PGlite has handed its writes
 * to the file system, and COMMIT writes the WAL before it returns. The data dir is a real directory
 * (NODEFS), so an acknowledged commit is in the kernel's
 * page cache when we answer: a `kill -9` of this process loses nothing (test/e2e/crash-durability).
 * PGlite is one connection: it serialises queries, and `transaction` holds it exclusively.
 * Every `query` runs a named prepared statement, kept per SQL text (PreparedStatements).
 */
export async function openPgliteDatabase(options: PgliteOptions = {}): Promise<Database> {
  let unlock = () => {}
  if (options.dataDir) {
    mkdirSync(options.dataDir, { recursive: true })
    unlock = lockDataDir(options.dataDir)
  }
  try {
    const pg = await PGlite.create({
      ...(options.dataDir ? { dataDir: join(options.dataDir, 'pgdata') } : {}),
      ...pgliteSettings,
    })
    const maintenance = new Maintenance(pg, {
      analyzeIntervalMs: options.analyzeIntervalMs ?? 60_000,
      vacuumIntervalMs: options.vacuumIntervalMs ?? 1000,
    })
    return new PgliteDatabase(pg, unlock, maintenance)
  } catch (err) {
    unlock()
    throw toDomainError(err)
  }
}

/** Whether `dataDir` holds a cluster already (else opening it runs initdb). */
export function pgliteClusterExists(dataDir: string): boolean {
  return existsSync(join(dataDir, 'pgdata', 'PG_VERSION'))
}

class PgliteDatabase implements Database {
  readonly dialect = 'pglite'
  #pg: PGlite
  #statements: PreparedStatements
  #closing: Promise<void> | undefined

  #unlock: () => void
  /** The last operation queued by #turn. */
  #tail: Promise<unknown> = Promise.resolve()
  #maintenance: Maintenance

  constructor(pg: PGlite, unlock: () => void, maintenance: Maintenance) {
    this.#pg = pg
    this.#statements = new PreparedStatements(pg)
    this.#unlock = unlock
    this.#maintenance = maintenance
  }

  /**
   * Runs the operations one after the other, in the order they came, each after a turn of the event
   * loop. PGlite executes SQL synchronously on this thread, and its own queue hands the connection to
   * the next waiter in a microtask: a backlog of N operations ran as one block of N, during which no
   * socket was read or accepted and no timer fired (under 1,000 connections of POST /stamp the loop
   * stalled for 1.5 to 2.5 s at a time, and clients whose connects were not accepted timed out). Here
   * at most one operation holds the thread between two turns. health() and the maintenance rounds
   * (Maintenance) go around the queue, so that they wait for one operation at most.
   */
  #turn<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#tail.then(nextTurn).then(fn)
    this.#tail = run.catch(() => {})
    return run
  }

  query<R extends Row = Row>(sql: string, params?: readonly unknown[]): Promise<QueryResult<R>> {
    return this.#turn(async () => {
      try {
        const res = await this.#pg.runExclusive(() => this.#statements.query<R>(sql, params ?? []))
        // as PGlite's own query does outside a transaction: the writes go to the file system now
        await this.#pg.syncToFs()
        return toResult<R>(res)
      } catch (err) {
        throw toDomainError(err)
      }
    })
  }

  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
    return this.#turn(() => this.#transaction(fn))
  }

  /**
   * BEGIN, fn, COMMIT (ROLLBACK when fn throws), holding PGlite's connection throughout, the way
   * PGlite's own `transaction` does, but with BEGIN and COMMIT sent as raw simple queries
   * (PreparedStatements.command): PGlite's `transaction` ran each through its whole query path (its
   * message parser, a file system sync after BEGIN): a transaction of one insert cost 255 µs of CPU
   * with it, 133 µs this way (the insert alone: 115 µs), and the bridge commits one for every few
   * workflows.
   */
  async #transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
    return this.#pg.runExclusive(async () => {
      const statements = this.#statements
      try {
        await statements.command('BEGIN')
      } catch (err) {
        throw toDomainError(err)
      }
      const scope = { open: true }
      let result: T
      try {
        result = await fn(new PgliteTransaction(statements, scope))
      } catch (err) {
        scope.open = false
        try {
          if (!this.#pg.closed) await statements.command('ROLLBACK')
        } catch (rollbackErr) {
          throw toDomainError(rollbackErr)
        }
        // what fn threw, as it is: its queries already threw domain errors; the rest is the caller's own
        throw err
      }
      scope.open = false
      let tag: string
      try {
        tag = await statements.command('COMMIT')
        // as PGlite's own query does: the writes go to the file system now
        await this.#pg.syncToFs()
      } catch (err) {
        throw toDomainError(err)
      }
      if (tag !== 'COMMIT') throw rolledBackCommitError()
      return result
    })
  }

  execScript(sql: string): Promise<void> {
    return this.#turn(async () => {
      try {
        await this.#pg.exec(sql)
      } catch (err) {
        // A script that failed after its own BEGIN leaves the session in an aborted transaction, which
        // would refuse every later query: end it.
        if (!this.#pg.closed && this.#pg.isInTransaction()) await this.#pg.query('ROLLBACK').catch(() => {})
        throw toDomainError(err)
      } finally {
        // a script changes the schema (migrations): plans kept from before may no longer fit it
        if (!this.#pg.closed) await this.#pg.runExclusive(() => this.#statements.forgetAll()).catch(() => {})
      }
    })
  }

  async health(): Promise<DatabaseHealth> {
    const started = performance.now()
    try {
      await this.#pg.query('SELECT 1')
      return { ok: true, latencyMs: performance.now() - started }
    } catch (err) {
      return { ok: false, latencyMs: performance.now() - started, error: toDomainError(err).message }
    }
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      await this.#maintenance.stop()
      if (!this.#pg.closed) await this.#pg.close()
      this.#unlock()
    })()
    return this.#closing
  }
}

/**
 * A transaction, or a savepoint inside one when `transaction` is called again. Its statements run
 * straight on the connection, which the transaction holds.
 */
class PgliteTransaction implements Queryable {
  #statements: PreparedStatements
  #scope: { open: boolean }
  #depth: number

  constructor(statements: PreparedStatements, scope: { open: boolean }, depth = 0) {
    this.#statements = statements
    this.#scope = scope
    this.#depth = depth
  }

  async query<R extends Row = Row>(sql: string, params?: readonly unknown[]): Promise<QueryResult<R>> {
    // a statement of a transaction that has ended would run outside it, or inside the next one
    if (!this.#scope.open) throw toDomainError(new Error('Transaction is closed'))
    try {
      return toResult<R>(await this.#statements.query<R>(sql, params ?? []))
    } catch (err) {
      throw toDomainError(err)
    }
  }

  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
    const depth = this.#depth + 1
    return withSavepoint(
      (sql) => this.query(sql),
      depth,
      () => fn(new PgliteTransaction(this.#statements, this.#scope, depth)),
    )
  }
}

/** Resolves in the check phase of the event loop: after the sockets that were ready have been read. */
function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve))
}

function toResult<R extends Row>(res: { rows: R[]; affectedRows?: number }): QueryResult<R> {
  return { rows: res.rows, rowCount: res.affectedRows || res.rows.length }
}
