import { setTimeout as sleep } from 'node:timers/promises'
import type { DeliveredEvent } from '../../ports/event-bus.ts'

/** Retries of one event's handler (the EventBus port: backoff doubles from `backoffMs`). */
export interface RetryPolicy {
  maxAttempts: number
  backoffMs: number
}

/** Longest wait between two attempts, however many there are. */
export const MAX_BACKOFF_MS = 30_000

export type DeliveryOutcome =
  | { status: 'handled'; attempts: number }
  /** Every attempt failed: the event goes to the dead-letter topic with `reason`. */
  | { status: 'failed'; attempts: number; reason: string }
  /** The subscription is stopping: the event is neither handled nor dead-lettered (not committed). */
  | { status: 'aborted'; attempts: number }

export function backoffMs(policy: RetryPolicy, attempt: number): number {
  return Math.min(MAX_BACKOFF_MS, policy.backoffMs * 2 ** (attempt - 1))
}

/** What a dead letter says about a handler's error. */
export function failureReason(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code
    return typeof code === 'string' ? `${code}: ${error.message}` : `${error.name}: ${error.message}`
  }
  return `thrown: ${String(error)}`
}

/**
 * Calls `handler` until it resolves or `maxAttempts` calls have thrown, waiting `backoffMs`, then
 * twice that, ... between calls. A call in flight always finishes; `signal` only cuts the waits short.
 */
export async function deliverWithRetries(
  event: Omit<DeliveredEvent, 'attempt'>,
  handler: (event: DeliveredEvent) => Promise<void>,
  policy: RetryPolicy,
  signal: AbortSignal,
): Promise<DeliveryOutcome> {
  let lastError: unknown
  for (let attempt = 1; attempt <= policy.maxAttempts; attempt++) {
    try {
      await handler({ ...event, attempt })
      return { status: 'handled', attempts: attempt }
    } catch (error) {
      lastError = error
    }
    if (attempt === policy.maxAttempts) break
    if (signal.aborted) return { status: 'aborted', attempts: attempt }
    try {
      await sleep(backoffMs(policy, attempt), undefined, { signal })
    } catch {
      return { status: 'aborted', attempts: attempt }
    }
  }
  return { status: 'failed', attempts: policy.maxAttempts, reason: failureReason(lastError) }
}

/**
 * A batch's delivery (the port's subscribeBatch): one call with every event; if it throws, each event
 * alone (a batch of one) through deliverWithRetries, in order. One outcome per event, in order; after
 * an aborted one the rest are not tried and get none (they stay uncommitted).
 */
export async function deliverBatchWithRetries(
  events: readonly Omit<DeliveredEvent, 'attempt'>[],
  handler: (events: readonly DeliveredEvent[]) => Promise<void>,
  policy: RetryPolicy,
  signal: AbortSignal,
): Promise<DeliveryOutcome[]> {
  if (events.length > 1) {
    try {
      await handler(events.map((e) => ({ ...e, attempt: 1 })))
      return events.map(() => ({ status: 'handled', attempts: 1 }))
    } catch {
      // split: the events that can be handled are, the bad one is retried and dead-lettered alone
    }
  }
  const outcomes: DeliveryOutcome[] = []
  for (const event of events) {
    const outcome = await deliverWithRetries(event, (e) => handler([e]), policy, signal)
    outcomes.push(outcome)
    if (outcome.status === 'aborted') break
  }
  return outcomes
}
