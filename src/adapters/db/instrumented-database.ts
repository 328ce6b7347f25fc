import { channels, type DbQueryObservation } from '../../core/diagnostics.ts'
import type { Database, Queryable, QueryResult, Row } from '../../ports/database.ts'

/**
 * Wraps any Database so that every query's duration is published on `omninode:db:query`
 * (metrics subscribe there). The adapters stay free of observability code.
 */
export function instrumentDatabase(db: Database): Database {
  const timed = (q: Queryable): Queryable => ({
    query: <R extends Row = Row>(sql: string, params?: readonly unknown[]) =>
      observe(db.dialect, () => q.query<R>(sql, params)),
    transaction: <T>(fn: (tx: Queryable) => Promise<T>) => q.transaction((tx) => fn(timed(tx))),
  })
  const outer = timed(db)
  return {
    dialect: db.dialect,
    query: outer.query,
    transaction: outer.transaction,
    execScript: (sql) => db.execScript(sql),
    health: () => db.health(),
    close: () => db.close(),
    ...(db.stats ? { stats: () => db.stats!() } : {}),
  }
}

async function observe<R extends Row>(
  dialect: string,
  run: () => Promise<QueryResult<R>>,
): Promise<QueryResult<R>> {
  if (!channels.dbQuery.hasSubscribers) return run()
  const started = performance.now()
  let ok = false
  try {
    const result = await run()
    ok = true
    return result
  } finally {
    channels.dbQuery.publish({
      dialect,
      durationMs: performance.now() - started,
      ok,
    } satisfies DbQueryObservation)
  }
}
