import { turnedAway } from '../core/errors.ts'

/** The slice of a structured logger that nodes use (pino satisfies it). */
export interface NodeLogger {
  debug(obj: object, msg?: string): void
  info(obj: object, msg?: string): void
  warn(obj: object, msg?: string): void
  error(obj: object, msg?: string): void
}

/**
 * The `onError` of background work that tries again later (a timer, the next pass): a warning, but
 * only debug for an attempt that the open database circuit turned away. The breaker has logged the
 * outage once, and a loop that retries every 100 ms logged a warning for each attempt (150 in an 8 s
 * outage of PostgreSQL). Not errors: what fails here is retried, and a lost race (a stale leader
 * epoch) is expected.
 */
export function logRetry(logger: NodeLogger, message: string): (err: unknown) => void {
  return (err) => {
    if (turnedAway(err)) logger.debug({ err }, message)
    else logger.warn({ err }, message)
  }
}
