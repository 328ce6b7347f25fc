import type pg from 'pg'
import { DatabaseError } from '../../../core/errors.ts'
import type { QueryResult, Row } from '../../../ports/database.ts'
import { isServerError, isStalePlan, rolledBackCommitError, toDomainError } from '../sql-errors.ts'
import type { StatementNames } from './statement-names.ts'

/**
 * One client checked out of the pool for one call or one transaction. It remembers whether the
 * connection broke, so that `release` destroys the client rather than handing a dead or confused
 * connection to the next caller, and it rolls back a transaction left open (a script that failed
 * after its own BEGIN) before the client goes back to the pool.
 */
export class Session {
  #client: pg.PoolClient
  #names: StatementNames
  #broken: Error | undefined
  #released = false
  #mustRollback = false
  // While checked out, pg-pool listens no more: a connection dying between two queries (inside a
  // transaction, while the caller's code runs) emits 'error' here, and unhandled it would crash us.
  #onError = (err: Error): void => {
    this.#broken ??= err
  }

  constructor(client: pg.PoolClient, names: StatementNames) {
    this.#client = client
    this.#names = names
    client.on('error', this.#onError)
  }

  /**
   * One statement, extended protocol (like PGlite: several statements in one string are refused),
   * prepared under its text's name on this connection the first time (StatementNames).
   */
  async query<R extends Row = Row>(
    sql: string,
    params?: readonly unknown[],
    timeoutMs?: number,
  ): Promise<QueryResult<R>> {
    const config = (name: string | undefined) => ({
      text: sql,
      values: params as unknown[] | undefined,
      ...(name ? { name } : { queryMode: 'extended' as const }),
      ...(timeoutMs ? { query_timeout: timeoutMs } : {}),
    })
    const name = this.#names.nameOf(sql)
    let res: pg.QueryResult<R>
    try {
      res = await this.#run<R>(config(name))
    } catch (err) {
      if (!name || !isStalePlan(err)) throw err
      // the call did nothing: outside a transaction it runs again at once, unnamed; inside one the
      // transaction is aborted, and the caller's retry runs it unnamed
      this.#names.stale(sql)
      if (this.#client.getTransactionStatus() !== 'I') throw err
      res = await this.#run<R>(config(undefined))
    }
    return { rows: res.rows, rowCount: res.rowCount ?? res.rows.length }
  }

  /** Several statements without parameters, simple protocol. */
  async script(sql: string): Promise<void> {
    try {
      await this.#run({ text: sql })
    } catch (err) {
      // The script may have opened a transaction before failing. pg reports the error before the
      // server's ReadyForQuery tells the transaction status, so do not wait to read it: roll back.
      this.#mustRollback = true
      throw err
    }
  }

  /** Commits the transaction; throws when PostgreSQL rolled it back instead (rolledBackCommitError). */
  async commit(): Promise<void> {
    const res = await this.#run({ text: 'COMMIT' })
    if (res.command !== 'COMMIT') throw rolledBackCommitError()
  }

  /** Ends the transaction; a failure marks the connection broken rather than throwing. */
  async rollback(): Promise<void> {
    if (this.#broken) return
    try {
      await this.#client.query('ROLLBACK')
    } catch (err) {
      this.#broken = err instanceof Error ? err : new Error(String(err))
    }
  }

  async release(): Promise<void> {
    if (this.#released) return
    if (this.#mustRollback || this.#client.getTransactionStatus() !== 'I') await this.rollback()
    this.#released = true
    this.#client.off('error', this.#onError)
    this.#client.release(this.#broken ?? false)
  }

  async #run<R extends Row>(config: pg.QueryConfig & { queryMode?: 'extended' }): Promise<pg.QueryResult<R>> {
    if (this.#released) {
      throw new DatabaseError('the transaction is already finished: its queries must complete inside it')
    }
    if (this.#broken) throw toDomainError(this.#broken)
    try {
      return await this.#client.query<R>(config)
    } catch (err) {
      if (!isServerError(err)) this.#broken ??= err instanceof Error ? err : new Error(String(err))
      throw toDomainError(err)
    }
  }
}
