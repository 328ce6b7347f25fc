import { execFile } from 'node:child_process'
import { extname, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { type CircuitStateName, guardDatabase } from '../adapters/db/guarded-database.ts'
import { instrumentDatabase } from '../adapters/db/instrumented-database.ts'
import { openPgliteDatabase, pgliteClusterExists } from '../adapters/db/pglite/pglite-database.ts'
import { openPostgresDatabase } from '../adapters/db/postgres/postgres-database.ts'
import { UnavailableError } from '../core/errors.ts'
import type { Database } from '../ports/database.ts'
import { configKeys } from './config/keys.ts'
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
  | 'dbPreparedStatements'
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
    preparedStatements: config.dbPreparedStatements,
    onPoolWarning: (inUse, size) => {
      metrics?.dbPoolSaturated.inc()
      logger?.warn({ inUse, size }, 'database pool more than 90% in use')
    },
    onPoolError: (err) => logger?.warn({ err }, 'an idle database connection failed; the pool replaces it'),
  })
}

/**
 * A first start on a new data dir creates the embedded database in a child process (cluster and
 * migrations), then opens it here: initdb and the first migrations grow PGlite's WebAssembly heap by
 * several hundred MB, which a heap never gives back (measured: about 700 MB resident after a first
 * start in process, about 260 MB when the database existed). Nothing to do on PostgreSQL or when the
 * data dir has its cluster.
 */
export async function prepareNewDataDir(
  config: Pick<DatabaseConfig, 'databaseUrl' | 'dataDir'>,
  logger?: Logger,
): Promise<void> {
  if (config.databaseUrl) return
  const dataDir = resolve(config.dataDir)
  if (pgliteClusterExists(dataDir)) return
  logger?.info({ data_dir: dataDir }, 'creating the embedded database (first start)')
  // the same extension as this module: .ts from src/, .js from the built dist/
  const ext = extname(fileURLToPath(import.meta.url))
  const script = fileURLToPath(new URL(`./prepare-data-dir${ext}`, import.meta.url))
  await new Promise<void>((done, fail) => {
    execFile(
      process.execPath,
      ['--disable-warning=ExperimentalWarning', script, dataDir],
      (err, _stdout, stderr) => {
        if (!err) return done()
        const reason = stderr.trim().split('\n').at(-1) || err.message
        fail(
          new UnavailableError(`cannot create the embedded database in ${dataDir}: ${reason}`, {
            cause: err,
          }),
        )
      },
    )
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

/**
 * Start-up check: the configured database answers one query, else an UnavailableError whose message
 * names the setting (DATABASE_URL with its password hidden, or the data dir) and the driver's reason,
 * for the operator who reads it on stderr. Requests never see this message.
 */
export async function checkDatabase(db: Database, config: DatabaseConfig): Promise<void> {
  try {
    await db.query('SELECT 1')
  } catch (err) {
    const where = config.databaseUrl
      ? `the PostgreSQL of ${configKeys.databaseUrl.env}=${redactUrl(config.databaseUrl)}`
      : `the embedded database in ${resolve(config.dataDir)}`
    throw new UnavailableError(`cannot use ${where}: ${reasonOf(err)}`, { cause: err })
  }
}

/** The URL without its password. */
function redactUrl(url: string): string {
  try {
    const u = new URL(url)
    if (u.password) u.password = '***'
    return u.toString()
  } catch {
    return '(not a URL)'
  }
}

/** The domain message, then what the driver said (`connect ECONNREFUSED ...`, `database "x" does not exist`). */
function reasonOf(err: unknown): string {
  if (!(err instanceof Error)) return String(err)
  const cause = err.cause
  if (!(cause instanceof Error)) return err.message
  const code = (cause as { code?: unknown }).code
  const said = cause.message || (typeof code === 'string' ? code : '')
  return said && said !== err.message ? `${err.message} (${said})` : err.message
}
