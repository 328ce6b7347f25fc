import { resolve } from 'node:path'
import { type CircuitStateName, guardDatabase } from '../adapters/db/guarded-database.ts'
import { instrumentDatabase } from '../adapters/db/instrumented-database.ts'
import { openPgliteDatabase } from '../adapters/db/pglite/pglite-database.ts'
import { openPostgresDatabase } from '../adapters/db/postgres/postgres-database.ts'
import type { Database } from '../ports/database.ts'
import type { BridgeConfig } from './config/load.ts'
import type { Logger } from './logger.ts'
import type { BridgeMetrics } from './metrics.ts'

export type DatabaseConfig = Pick<
  BridgeConfig,
  | 'databaseUrl'
  | 'dataDir'
  | 'dbPoolSize'
  | 'dbStatementTimeoutMs'
  | 'dbConnectionTimeoutMs'
  | 'dbApplicationName'
>

/** The configured database: PostgreSQL when DATABASE_URL is set, else PGlite under the data dir. */
export async function openDatabase(
  config: DatabaseConfig,
  observers: { logger?: Logger; metrics?: BridgeMetrics } = {},
): Promise<Database> {
  const { logger, metrics } = observers
  if (!config.databaseUrl) return openPgliteDatabase({ dataDir: resolve(config.dataDir) })
  return openPostgresDatabase({
    url: config.databaseUrl,
    poolSize: config.dbPoolSize,
    statementTimeoutMs: config.dbStatementTimeoutMs,
    connectionTimeoutMs: config.dbConnectionTimeoutMs,
    applicationName: config.dbApplicationName,
    onPoolWarning: (inUse, size) => {
      metrics?.dbPoolSaturated.inc()
      logger?.warn({ inUse, size }, 'database pool more than 90% in use')
    },
    onPoolError: (err) => logger?.warn({ err }, 'an idle database connection failed; the pool replaces it'),
  })
}

/**
 * What every database of a running bridge is wrapped in, whichever adapter it is: query timings for
 * metrics, and a circuit breaker so that an unreachable database costs callers a fast 503, not a wait.
 */
export function protectDatabase(
  db: Database,
  observers: { logger: Logger; metrics: BridgeMetrics },
): Database {
  const { logger, metrics } = observers
  return guardDatabase(instrumentDatabase(db), {
    onStateChange: (state: CircuitStateName) => {
      metrics.dbCircuit.set(state === 'open' || state === 'isolated' ? 1 : 0)
      if (state === 'open')
        logger.warn({ circuit: state }, 'database unreachable: failing fast until it answers')
      else logger.info({ circuit: state }, `database circuit ${state}`)
    },
  })
}
