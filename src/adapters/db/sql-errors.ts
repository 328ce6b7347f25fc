import {
  ConflictError,
  DatabaseError,
  InvalidInputError,
  OnexError,
  TimeoutError,
  UnavailableError,
} from '../../core/errors.ts'

/**
 * Translates a driver failure (pg or PGlite: both carry the SQLSTATE in `code`) into a domain error.
 * The driver's message never reaches a client: it is kept as `cause` for the logs only.
 * SQLSTATE classes: https://www.postgresql.org/docs/current/errcodes-appendix.html
 */
export function toDomainError(err: unknown): OnexError {
  if (err instanceof OnexError) return err
  const sqlState = sqlStateOf(err)
  const details: Record<string, unknown> = sqlState ? { sql_state: sqlState } : {}

  if (sqlState === undefined) {
    if (isConnectionFailure(err)) return new UnavailableError('the database is unavailable', { cause: err })
    if (isClientTimeout(err)) return new TimeoutError('the database did not answer in time', { cause: err })
    return new DatabaseError('the database rejected the operation', { cause: err })
  }
  if (sqlState === '23505') {
    const constraint = (err as { constraint?: unknown }).constraint
    return new ConflictError('a record with the same key already exists', {
      cause: err,
      details: typeof constraint === 'string' ? { ...details, constraint } : details,
    })
  }
  // 57014 query_canceled (statement_timeout), 55P03 lock_not_available (lock_timeout)
  if (sqlState === '57014' || sqlState === '55P03') {
    return new TimeoutError('the database did not answer in time', { cause: err, details })
  }
  // 08 connection exceptions; 57P01-57P05 admin/crash shutdown, cannot connect now, database dropped,
  // idle session timeout; 53300 too many connections
  if (sqlState.startsWith('08') || sqlState.startsWith('57P') || sqlState === '53300') {
    return new UnavailableError('the database is unavailable', { cause: err, details })
  }
  // 22 data exceptions (bad value for a column type, value too long, ...)
  if (sqlState.startsWith('22')) {
    return new InvalidInputError('a value is not acceptable to the database', [], { cause: err })
  }
  return new DatabaseError('the database rejected the operation', { cause: err, details })
}

/**
 * True when the error came from the server as an error message (it has a SQLSTATE): the connection
 * that carried it is still usable. Network, protocol and client-side timeout failures are not.
 */
export function isServerError(err: unknown): boolean {
  const sqlState = sqlStateOf(err)
  return sqlState !== undefined && !sqlState.startsWith('08') && !sqlState.startsWith('57P')
}

/**
 * A prepared statement whose table changed under it so that its result columns differ (DDL after it was
 * prepared): PostgreSQL refuses to run the kept plan. The call did nothing; prepared again, it runs.
 * The error is the driver's (pg or PGlite), or a domain error that carries it as `cause`.
 */
export function isStalePlan(err: unknown): boolean {
  const driver = err instanceof OnexError ? err.cause : err
  return (
    sqlStateOf(driver) === '0A000' &&
    driver instanceof Error &&
    driver.message.includes('cached plan must not change result type')
  )
}

/** A SQLSTATE is five digits or capitals; node's errno codes (`ECONNREFUSED`, `EPIPE`) are not SQLSTATEs. */
function sqlStateOf(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null | undefined)?.code
  if (typeof code !== 'string' || !/^[0-9A-Z]{5}$/.test(code) || connectionCodes.has(code)) return undefined
  return code
}

const connectionMessages = [
  'Connection terminated', // pg: '... unexpectedly', '... due to connection timeout'
  'connection timeout',
  'timeout exceeded when trying to connect', // pg-pool: no free connection within connectionTimeoutMillis
  'Client has encountered a connection error',
  'Client was closed and is not queryable',
  'Cannot use a pool after calling end on the pool',
  'Connection ended',
  'PGlite is closed',
]
const connectionCodes = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EADDRNOTAVAIL',
  'ENOTFOUND',
  'EAI_AGAIN',
])

function isConnectionFailure(err: unknown): boolean {
  if (!(err instanceof Error)) return false
  const code = (err as { code?: unknown }).code
  if (typeof code === 'string' && connectionCodes.has(code)) return true
  // net.connect to a name with several addresses fails with an AggregateError of the attempts
  if (err instanceof AggregateError && err.errors.some(isConnectionFailure)) return true
  return connectionMessages.some((m) => err.message.includes(m))
}

/** pg's client-side `query_timeout`: the server did not answer at all (hung, or a network partition). */
function isClientTimeout(err: unknown): boolean {
  return err instanceof Error && err.message === 'Query read timeout'
}

/**
 * A COMMIT that PostgreSQL answered with ROLLBACK: a statement of the transaction had failed and the
 * caller went on. Nothing of it was written, so the transaction must not look like it succeeded.
 */
export function rolledBackCommitError(): DatabaseError {
  return new DatabaseError('the transaction was rolled back: a statement in it had failed', {
    details: { sql_state: '25P02' },
  })
}
