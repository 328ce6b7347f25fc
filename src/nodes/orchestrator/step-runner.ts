import { setTimeout as sleep } from 'node:timers/promises'
import type { WorkflowStep } from '../../core/contracts/schema.ts'
import { roundMs } from '../../core/duration.ts'
import { isOnexError, OnexError, TimeoutError } from '../../core/errors.ts'
import { backoffMs, shouldRetry } from '../../core/workflow/retry.ts'

export type StepResult<T> =
  | { ok: true; value: T; attempts: number; startedAt: Date; durationMs: number }
  | { ok: false; error: OnexError; attempts: number; startedAt: Date; durationMs: number }

/**
 * Runs one workflow step under its contract settings: each attempt limited to `timeout_ms` (the
 * attempt's signal aborts, and the step goes on without waiting for it), a failed attempt retried
 * after the policy's backoff while attempts remain and the failure is retryable (a bad input is not:
 * it would fail the same way again). Never throws: the outcome says how it went.
 */
export async function runStep<T>(
  step: WorkflowStep,
  now: () => Date,
  attempt: (signal: AbortSignal, n: number) => T | Promise<T>,
): Promise<StepResult<T>> {
  const startedAt = now()
  const started = performance.now()
  for (let n = 1; ; n++) {
    if (n > 1) await sleep(backoffMs(step.retry_policy, n))
    try {
      const value = await withTimeout(step, (signal) => attempt(signal, n))
      return { ok: true, value, attempts: n, startedAt, durationMs: roundMs(performance.now() - started) }
    } catch (err) {
      const error = isOnexError(err)
        ? err
        : new OnexError('ONEX_CORE_001_INTERNAL_ERROR', `step ${step.name} failed: ${String(err)}`, {
            cause: err,
          })
      // an unexpected failure (a bug, or a driver error not translated) may be transient: retry it too
      const retryable = isOnexError(err) ? err.retryable : true
      if (!shouldRetry(step.retry_policy, n, retryable))
        return { ok: false, error, attempts: n, startedAt, durationMs: roundMs(performance.now() - started) }
    }
  }
}

async function withTimeout<T>(
  step: WorkflowStep,
  attempt: (signal: AbortSignal) => T | Promise<T>,
): Promise<T> {
  const controller = new AbortController()
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const error = new TimeoutError(`step ${step.name} took longer than its ${step.timeout_ms} ms`)
      controller.abort(error)
      reject(error)
    }, step.timeout_ms)
  })
  try {
    return await Promise.race([Promise.resolve().then(() => attempt(controller.signal)), timeout])
  } finally {
    clearTimeout(timer)
  }
}
