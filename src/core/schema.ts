import type { Static, TSchema } from 'typebox'
import { Compile } from 'typebox/compile'
import { type FieldIssue, InvalidInputError, isRequestPart } from './errors.ts'

/**
 * Compiles a TypeBox schema once and returns a parser: input in, typed value out, or an
 * InvalidInputError whose `details.issues` names every offending field (dotted path).
 * Every edge of the system (HTTP bodies, events, config, contract YAML, CLI arguments) goes through one.
 * When `what` is a part of an HTTP request ('body', 'querystring', ...) the error's details say so
 * (`location`), as they do for what fastify's route schemas refuse.
 */
export function compileParser<T extends TSchema>(schema: T, what: string): (value: unknown) => Static<T> {
  const validator = Compile(schema)
  const location = isRequestPart(what) ? { location: what } : {}
  return (value) => {
    if (validator.Check(value)) return value as Static<T>
    const issues = issuesOf(validator.Errors(value))
    const first = issues[0]
    const where = first?.field ? ` at ${first.field}` : ''
    throw new InvalidInputError(
      `invalid ${what}${where}: ${first?.message ?? 'does not match its schema'}`,
      issues,
      location,
    )
  }
}

interface SchemaError {
  keyword: string
  instancePath: string
  message: string
  params?: Record<string, unknown>
}

/** One issue per field, preferring the most specific message (anyOf/boolean noise dropped). */
export function issuesOf(errors: readonly SchemaError[]): FieldIssue[] {
  const byField = new Map<string, string>()
  for (const e of errors) {
    if (e.keyword === 'anyOf' || e.keyword === 'boolean') continue
    const field = e.instancePath.replace(/^\//, '').replaceAll('/', '.')
    let message = e.message
    if (e.keyword === 'required' && Array.isArray(e.params?.['requiredProperties'])) {
      for (const name of e.params['requiredProperties'] as string[]) {
        byField.set(field ? `${field}.${name}` : name, 'is required')
      }
      continue
    }
    if (e.keyword === 'additionalProperties' && Array.isArray(e.params?.['additionalProperties'])) {
      for (const name of e.params['additionalProperties'] as string[]) {
        byField.set(field ? `${field}.${name}` : name, 'is not a known field')
      }
      continue
    }
    if (e.keyword === 'const' && e.params && 'allowedValue' in e.params) {
      const prior = byField.get(field)
      const allowed = JSON.stringify(e.params['allowedValue'])
      message = prior?.startsWith('must be one of ') ? `${prior}, ${allowed}` : `must be one of ${allowed}`
    }
    if (!byField.has(field) || e.keyword === 'const') byField.set(field, message)
  }
  return [...byField].map(([field, message]) => ({ field, message }))
}
