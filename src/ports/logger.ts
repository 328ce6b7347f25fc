import { failureLogLevel } from '../core/errors.ts'

/** The slice of a structured logger that nodes use (pino satisfies it). */
export interface NodeLogger {
  debug(obj: object, msg?: string): void
  info(obj: object, msg?: string): void
  warn(obj: object, msg?: string): void
  error(obj: object, msg?: string): void
}

/**
 * The `onError` of background work that tries again later (a timer, the next pass): logs the failure
 * as loudly as a request's 5xx would be (failureLogLevel). So an attempt that the open database
 * circuit turned away is debug: the breaker has logged the outage once, and a loop that retries
 * every 100 ms logged a warning for each attempt (150 in an 8 s outage of PostgreSQL).
 */
export function logRetry(logger: NodeLogger, message: string): (err: unknown) => void {
  return (err) => logger[failureLogLevel(err, 500)]({ err }, message)
}
