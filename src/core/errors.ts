/**
 * The error catalogue: every failure the bridge reports has a stable `ONEX_CORE_<NNN>_<NAME>` code,
 * an HTTP status and a retry intent. Callers and remote peers match on `code`, never on message text.
 * Errors become HTTP in exactly one place (runtime/http/error-handler.ts).
 */

export const errorCatalogue = {
  ONEX_CORE_001_INTERNAL_ERROR: {
    status: 500,
    retryable: false,
    summary: 'An unexpected failure inside the bridge',
  },
  ONEX_CORE_007_INVALID_INPUT: {
    status: 400,
    retryable: false,
    summary: 'The request or its body is malformed or fails validation',
  },
  ONEX_CORE_008_INVALID_CONFIG: {
    status: 500,
    retryable: false,
    summary: 'A configuration value is missing or invalid',
  },
  ONEX_CORE_012_UNSUPPORTED_MEDIA_TYPE: {
    status: 415,
    retryable: false,
    summary: 'The request body has a content type the route does not accept',
  },
  ONEX_CORE_013_PAYLOAD_TOO_LARGE: {
    status: 413,
    retryable: false,
    summary: 'The request body exceeds the configured limit',
  },
  ONEX_CORE_015_METHOD_NOT_ALLOWED: {
    status: 405,
    retryable: false,
    summary: 'The route exists but not for this method',
  },
  ONEX_CORE_016_FORBIDDEN: {
    status: 403,
    retryable: false,
    summary:
      'The request is valid but outside what this service accepts (e.g. a namespace it does not serve)',
  },
  ONEX_CORE_021_PROTOCOL_VIOLATION: {
    status: 422,
    retryable: false,
    summary: 'Metadata does not comply with the O.N.E. v0.1 protocol',
  },
  ONEX_CORE_029_NOT_FOUND: {
    status: 404,
    retryable: false,
    summary: 'The requested resource does not exist',
  },
  ONEX_CORE_030_CONFLICT: {
    status: 409,
    retryable: false,
    summary: 'The change conflicts with existing state',
  },
  ONEX_CORE_031_GONE: {
    status: 410,
    retryable: false,
    summary: 'What was asked for is no longer kept (e.g. topology diffs older than retained); start over',
  },
  ONEX_CORE_041_RATE_LIMITED: {
    status: 429,
    retryable: true,
    summary: 'Too much work is queued; retry later',
  },
  ONEX_CORE_050_SERVICE_UNAVAILABLE: {
    status: 503,
    retryable: true,
    summary: 'A dependency is unavailable; retry later',
  },
  ONEX_CORE_051_DATABASE_ERROR: {
    status: 500,
    retryable: false,
    summary: 'The database rejected the operation',
  },
  ONEX_CORE_052_TIMEOUT: { status: 503, retryable: true, summary: 'An operation took longer than its limit' },
} as const satisfies Record<string, { status: number; retryable: boolean; summary: string }>

export type ErrorCode = keyof typeof errorCatalogue
export const errorCodes = Object.keys(errorCatalogue) as ErrorCode[]

/** One problem with one input field, as reported in `error.details.issues`. */
export interface FieldIssue {
  field: string
  message: string
}

export interface OnexErrorOptions {
  details?: Record<string, unknown>
  cause?: unknown
  /** Seconds a client should wait before retrying (sent as Retry-After on 429/503). */
  retryAfterSeconds?: number
}

/** Base of every domain error. `code` is the contract; `status` and `retryable` derive from it. */
export class OnexError extends Error {
  readonly code: ErrorCode
  readonly details: Record<string, unknown> | undefined
  readonly retryAfterSeconds: number | undefined

  constructor(code: ErrorCode, message: string, options: OnexErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.name = new.target.name
    this.code = code
    this.details = options.details
    this.retryAfterSeconds = options.retryAfterSeconds
  }

  get status(): number {
    return errorCatalogue[this.code].status
  }

  get retryable(): boolean {
    return errorCatalogue[this.code].retryable
  }
}

/** The parts of an HTTP request an input error can be in. */
export type RequestPart = 'body' | 'querystring' | 'params' | 'headers'
const requestParts: ReadonlySet<string> = new Set<RequestPart>(['body', 'querystring', 'params', 'headers'])

export function isRequestPart(name: string): name is RequestPart {
  return requestParts.has(name)
}

export class InvalidInputError extends OnexError {
  /** Every problem found, each naming its field. */
  readonly issues: readonly FieldIssue[]
  /**
   * `location`: the part of an HTTP request the issues are in (body, querystring, params, headers), as
   * the answers to a request that fastify's own schemas refused say it, in fastify's words (`details.location`).
   */
  constructor(
    message: string,
    issues: FieldIssue[] = [],
    options: Omit<OnexErrorOptions, 'details'> & { location?: RequestPart } = {},
  ) {
    const { location, ...rest } = options
    super('ONEX_CORE_007_INVALID_INPUT', message, {
      ...rest,
      details: location === undefined ? { issues } : { location, issues },
    })
    this.issues = issues
  }
}

export class ConfigError extends OnexError {
  readonly key: string
  constructor(key: string, message: string, options: OnexErrorOptions = {}) {
    super('ONEX_CORE_008_INVALID_CONFIG', `invalid configuration ${key}: ${message}`, {
      ...options,
      details: { key, ...options.details },
    })
    this.key = key
  }
}

export class NotFoundError extends OnexError {
  constructor(message: string, details?: Record<string, unknown>) {
    super('ONEX_CORE_029_NOT_FOUND', message, details ? { details } : {})
  }
}

export class ConflictError extends OnexError {
  constructor(message: string, options: OnexErrorOptions = {}) {
    super('ONEX_CORE_030_CONFLICT', message, options)
  }
}

export class ForbiddenError extends OnexError {
  constructor(message: string, details?: Record<string, unknown>) {
    super('ONEX_CORE_016_FORBIDDEN', message, details ? { details } : {})
  }
}

export class GoneError extends OnexError {
  constructor(message: string, details?: Record<string, unknown>) {
    super('ONEX_CORE_031_GONE', message, details ? { details } : {})
  }
}

export class ProtocolViolationError extends OnexError {
  constructor(message: string, issues: FieldIssue[]) {
    super('ONEX_CORE_021_PROTOCOL_VIOLATION', message, { details: { issues } })
  }
}

/** A node contract (contract.yaml) that cannot be used: names the file and every offending field. */
export class ContractError extends OnexError {
  readonly file: string
  readonly issues: FieldIssue[]
  constructor(file: string, issues: FieldIssue[], options: OnexErrorOptions = {}) {
    const first = issues[0]
    const where = first?.field ? ` at ${first.field}` : ''
    const more = issues.length > 1 ? ` (and ${issues.length - 1} more)` : ''
    super('ONEX_CORE_008_INVALID_CONFIG', `invalid contract ${file}${where}: ${first?.message}${more}`, {
      ...options,
      details: { file, issues },
    })
    this.file = file
    this.issues = issues
  }
}

export class UnavailableError extends OnexError {
  constructor(message: string, options: OnexErrorOptions = {}) {
    super('ONEX_CORE_050_SERVICE_UNAVAILABLE', message, { retryAfterSeconds: 1, ...options })
  }
}

export class TimeoutError extends OnexError {
  constructor(message: string, options: OnexErrorOptions = {}) {
    super('ONEX_CORE_052_TIMEOUT', message, { retryAfterSeconds: 1, ...options })
  }
}

export class DatabaseError extends OnexError {
  constructor(message: string, options: OnexErrorOptions = {}) {
    super('ONEX_CORE_051_DATABASE_ERROR', message, options)
  }
}

export function isOnexError(value: unknown): value is OnexError {
  return value instanceof OnexError
}

/**
 * What a client may see of an error: its code always; its message and details unless it is an
 * unexpected server-side failure, whose internals stay in the log (the catalogue summary is sent).
 */
export function publicErrorBody(err: OnexError): {
  code: ErrorCode
  message: string
  details?: Record<string, unknown>
} {
  if (err.status >= 500 && !err.retryable)
    return { code: err.code, message: errorCatalogue[err.code].summary }
  return { code: err.code, message: err.message, ...(err.details ? { details: err.details } : {}) }
}

/**
 * How loudly a failure with this HTTP status is logged. 4xx: the caller's problem, debug. A 5xx nobody
 * expected: error, with its stack. A retryable 5xx (a dependency is away) is expected for as long as
 * the outage lasts and the circuit breaker logs its opening and closing: warn, without a stack, and only
 * debug for calls the open circuit turned away, so that an outage under load does not flood the log.
 */
export function failureLogLevel(error: unknown, status: number): 'debug' | 'warn' | 'error' {
  if (status < 500) return 'debug'
  if (!isOnexError(error) || !error.retryable) return 'error'
  return turnedAway(error) ? 'debug' : 'warn'
}

/** A call that an open circuit breaker refused without trying: the breaker has logged the outage. */
export function turnedAway(error: unknown): boolean {
  return isOnexError(error) && error.retryable && error.details?.['circuit'] === 'open'
}
