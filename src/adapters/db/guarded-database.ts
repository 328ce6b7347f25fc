import { BrokenCircuitError, CircuitState, ConsecutiveBreaker, circuitBreaker, handleWhen } from 'cockatiel'
import { TimeoutError, UnavailableError } from '../../core/errors.ts'
import type { Database, Queryable, QueryResult, Row } from '../../ports/database.ts'

export type CircuitStateName = 'closed' | 'open' | 'half-open' | 'isolated'

export interface GuardOptions {
  /**
   * Consecutive outages (UnavailableError or TimeoutError) that open the circuit. Any other outcome,
   * a ConflictError included, proves the database answered and resets the count.
   * @default 5
   */
  failureThreshold?: number
  /**
   * How long the circuit stays open before one call is let through as a probe (half-open).
   * @default 2000
   */
  halfOpenAfterMs?: number
  /** Every change of the circuit's state, for logs and metrics. */
  onStateChange?: (state: CircuitStateName) => void
}

export const guardDefaults = { failureThreshold: 5, halfOpenAfterMs: 2000 } as const

const stateNames: Record<CircuitState, CircuitStateName> = {
  [CircuitState.Closed]: 'closed',
  [CircuitState.Open]: 'open',
  [CircuitState.HalfOpen]: 'half-open',
  [CircuitState.Isolated]: 'isolated',
}

const isOutage = (err: unknown): boolean => err instanceof UnavailableError || err instanceof TimeoutError

/** Carries a non-outage failure through the breaker as a result, so that it counts as an answer. */
class Answered {
  readonly error: unknown
  constructor(error: unknown) {
    this.error = error
  }
}

/**
 * Wraps any Database in a circuit breaker (cockatiel). While the database keeps failing to answer, the
 * circuit opens and calls fail at once with UnavailableError (Retry-After: the time left until the next
 * probe) instead of each waiting for its own connection timeout. After `halfOpenAfterMs` one call probes
 * the database; its success closes the circuit, its failure opens it again.
 *
 * A transaction is one call to the breaker; the queries inside it are not guarded again. `health()`
 * bypasses the breaker: it is the probe that tells readiness the database is back.
 */
export function guardDatabase(db: Database, options: GuardOptions = {}): Database {
  const halfOpenAfterMs = options.halfOpenAfterMs ?? guardDefaults.halfOpenAfterMs
  const policy = circuitBreaker(handleWhen(isOutage), {
    halfOpenAfter: halfOpenAfterMs,
    breaker: new ConsecutiveBreaker(options.failureThreshold ?? guardDefaults.failureThreshold),
  })
  let openedAt = 0
  policy.onBreak(() => {
    openedAt = performance.now()
  })
  const { onStateChange } = options
  if (onStateChange) policy.onStateChange((state) => onStateChange(stateNames[state]))

  const guarded = async <T>(fn: () => Promise<T>): Promise<T> => {
    let outcome: T | Answered
    try {
      outcome = await policy.execute(async () => {
        try {
          return await fn()
        } catch (err) {
          if (isOutage(err)) throw err
          return new Answered(err)
        }
      })
    } catch (err) {
      if (err instanceof BrokenCircuitError) {
        const leftMs = openedAt + halfOpenAfterMs - performance.now()
        throw new UnavailableError('the database is unavailable (circuit open)', {
          cause: err,
          retryAfterSeconds: Math.max(1, Math.ceil(leftMs / 1000)),
          details: { circuit: 'open' },
        })
      }
      throw err
    }
    if (outcome instanceof Answered) throw outcome.error
    return outcome
  }

  return {
    dialect: db.dialect,
    query: <R extends Row = Row>(sql: string, params?: readonly unknown[]): Promise<QueryResult<R>> =>
      guarded(() => db.query<R>(sql, params)),
    transaction: <T>(fn: (tx: Queryable) => Promise<T>): Promise<T> => guarded(() => db.transaction(fn)),
    execScript: (sql) => guarded(() => db.execScript(sql)),
    health: () => db.health(),
    close: () => db.close(),
    ...(db.stats ? { stats: () => db.stats!() } : {}),
  }
}
