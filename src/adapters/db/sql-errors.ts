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
  const e = (err ?? {}) as { code?: unknown; constraint?: unknown; message?: unknown }
  const sqlState = typeof e.code === 'string' ? e.code : undefined
  const details: Record<string, unknown> = sqlState ? { sql_state: sqlState } : {}

  if (sqlState === '23505') {
    const constraint = typeof e.constraint === 'string' ? e.constraint : undefined
    return new ConflictError('a record with the same key already exists', {
      cause: err,
      details: constraint ? { ...details, constraint } : details,
    })
  }
  // 57014 query_canceled (statement_timeout), 55P03 lock_not_available (lock_timeout)
  if (sqlState === '57014' || sqlState === '55P03') {
    return new TimeoutError('the database did not answer in time', { cause: err, details })
  }
  // 08 connection exceptions, 57P01-57P03 admin/crash shutdown and cannot-connect-now, 53300 too many connections
  if (
    sqlState?.startsWith('08') ||
    sqlState === '57P01' ||
    sqlState === '57P02' ||
    sqlState === '57P03' ||
    sqlState === '53300'
  ) {
    return new UnavailableError('the database is unavailable', { cause: err, details })
  }
  // 22 data exceptions (bad value for a column type, value too long, ...)
  if (sqlState?.startsWith('22')) {
    return new InvalidInputError('a value is not acceptable to the database', [], { cause: err })
  }
  if (sqlState === undefined && isConnectionFailure(err)) {
    return new UnavailableError('the database is unavailable', { cause: err })
  }
  return new DatabaseError('the database rejected the operation', { cause: err, details })
}

const connectionMessages = [
  'Connection terminated',
  'connection timeout',
  'timeout exceeded when trying to connect',
  'Client has encountered a connection error',
  'Connection ended',
  'PGlite is closed',
]
const connectionCodes = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENOTFOUND',
])

function isConnectionFailure(err: unknown): boolean {
  if (!(err instanceof Error)) return false
  const code = (err as { code?: unknown }).code
  if (typeof code === 'string' && connectionCodes.has(code)) return true
  return connectionMessages.some((m) => err.message.includes(m))
}
