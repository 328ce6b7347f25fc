import { findErrorBy, GenericError, MultipleErrors } from '@platformatic/kafka'
import { NotFoundError, type OnexError, UnavailableError } from '../../../core/errors.ts'

/**
 * The Kafka client's errors at the adapter's edge (STYLE 6): a broker that cannot be reached, a timeout,
 * a retriable broker answer become UnavailableError (503, retry later); a topic that does not exist
 * (topics are never auto-created) NotFoundError. Retry intent is read from the client's `canRetry`.
 */

/** False when any error in the chain says it must not be retried (platformatic's `canRetry`). */
export function canRetry(error: unknown): boolean {
  if (!(error instanceof Error)) return false
  if (!GenericError.isGenericError(error)) return false
  return findErrorBy(error, 'canRetry', false) === null && unknownTopic(error) === undefined
}

/** The topic named by an 'Unknown topic' answer, when that is what the error is. */
export function unknownTopic(error: unknown): string | undefined {
  for (const e of flatten(error)) {
    const match = /^Unknown topic (.+)\.$/.exec(e.message)
    if (match) return match[1]
    if ((e as { apiId?: unknown }).apiId === 'UNKNOWN_TOPIC_OR_PARTITION') return 'unknown'
  }
  return undefined
}

/** Every error in a MultipleErrors tree and in `cause` chains, depth first. */
export function flatten(error: unknown): Error[] {
  const out: Error[] = []
  const visit = (e: unknown, depth: number) => {
    if (!(e instanceof Error) || depth > 8) return
    out.push(e)
    if (e instanceof MultipleErrors || e instanceof AggregateError)
      for (const inner of e.errors) visit(inner, depth + 1)
    if (e.cause) visit(e.cause, depth + 1)
  }
  visit(error, 0)
  return out
}

/** A short description: the distinct messages of the innermost errors. */
export function describe(error: unknown): string {
  const all = flatten(error)
  if (all.length === 0) return String(error)
  const leaves = all.filter((e) => !(e instanceof AggregateError) && !e.cause)
  const messages = [...new Set((leaves.length > 0 ? leaves : all).map((e) => e.message))]
  return messages.slice(0, 3).join('; ')
}

export function toBusError(error: unknown, what: string): OnexError {
  const topic = unknownTopic(error)
  if (topic !== undefined)
    return new NotFoundError(`${what}: topic ${topic} does not exist (create it with ensureTopics)`, {
      topic,
    })
  return new UnavailableError(`${what}: Kafka is unavailable (${describe(error)})`, { cause: error })
}
