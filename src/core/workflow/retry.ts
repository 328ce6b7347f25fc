import type { RetryPolicy } from '../contracts/schema.ts'

/**
 * The wait before attempt `attempt` (2 for the first retry) under a contract retry policy:
 * `initial_backoff_ms × multiplier^(attempt − 2)`, capped at `max_backoff_ms`. Attempt 1 waits 0.
 */
export function backoffMs(policy: RetryPolicy, attempt: number): number {
  if (attempt <= 1) return 0
  const multiplier = policy.backoff_multiplier ?? 2
  return Math.min(policy.max_backoff_ms, policy.initial_backoff_ms * multiplier ** (attempt - 2))
}

/** Whether a failed attempt gets another one: attempts remain and the failure is not final. */
export function shouldRetry(policy: RetryPolicy, attempt: number, retryable: boolean): boolean {
  return retryable && attempt < policy.max_attempts
}
