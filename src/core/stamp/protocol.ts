/**
 * O.N.E. v0.1 protocol metadata (DESIGN section 4, checked by `/validate-protocol`). Every field below is
 * required; unknown fields are allowed. Every violation is reported, not just the first.
 *
 * | field            | rule                                                                  |
 * |------------------|-----------------------------------------------------------------------|
 * | metadata_version | version string, `MAJOR.MINOR[.PATCH]`                                 |
 * | protocol_version | `0.1` or `0.1.PATCH` (this validator checks v0.1)                     |
 * | name             | non-empty string                                                      |
 * | version          | semver-ish: `MAJOR.MINOR[.PATCH][-pre][+build]`                       |
 * | uuid             | UUID (8-4-4-4-12 hex)                                                 |
 * | author           | non-empty string                                                      |
 * | created_at       | ISO-8601 date-time (no offset means UTC)                              |
 * | last_modified_at | ISO-8601 date-time, not before created_at                             |
 * | description      | string (may be empty)                                                 |
 * | hash             | BLAKE3: 64 lowercase hex digits                                       |
 * | namespace        | `^(omninode|onex)\.[a-zA-Z0-9_.]+$`                                   |
 * | meta_type        | identifier (`^[A-Za-z_][A-Za-z0-9_]*$`): tool, validator, agent, model, |
 * |                  | plugin, schema, node, ignore_config... any, so new kinds need no change |
 * | lifecycle        | draft, active, deprecated or archived                                 |
 */

import { type FieldIssue, ProtocolViolationError } from '../errors.ts'
import { isBlake3Hex, isNamespace, isUuid, parseIsoDateTime } from './fields.ts'

export const LIFECYCLES = ['draft', 'active', 'deprecated', 'archived'] as const
export type Lifecycle = (typeof LIFECYCLES)[number]

/** O.N.E. v0.1 metadata, once validated. */
export interface ProtocolMetadata {
  metadata_version: string
  protocol_version: string
  name: string
  version: string
  uuid: string
  author: string
  created_at: string
  last_modified_at: string
  description: string
  hash: string
  namespace: string
  meta_type: string
  lifecycle: Lifecycle
  [extra: string]: unknown
}

export interface ProtocolValidation {
  valid: boolean
  issues: FieldIssue[]
}

type Rule = (value: string) => string | null

const VERSION = /^\d+\.\d+(\.\d+)?$/
const PROTOCOL_V01 = /^0\.1(\.\d+)?$/
const SEMVER_ISH = /^\d+\.\d+(\.\d+)?(-[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?(\+[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?$/
const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/

const nonEmpty: Rule = (v) => (v.trim() === '' ? 'must not be empty' : null)
const dateTime: Rule = (v) => (parseIsoDateTime(v) === null ? 'must be an ISO-8601 date-time' : null)

const rules: ReadonlyArray<[keyof ProtocolMetadata & string, Rule]> = [
  ['metadata_version', (v) => (VERSION.test(v) ? null : 'must be a version like 0.1.0')],
  ['protocol_version', (v) => (PROTOCOL_V01.test(v) ? null : 'must be 0.1 (O.N.E. v0.1)')],
  ['name', nonEmpty],
  ['version', (v) => (SEMVER_ISH.test(v) ? null : 'must be a semantic version like 1.2.3')],
  ['uuid', (v) => (isUuid(v) ? null : 'must be a UUID')],
  ['author', nonEmpty],
  ['created_at', dateTime],
  ['last_modified_at', dateTime],
  ['description', () => null],
  ['hash', (v) => (isBlake3Hex(v) ? null : 'must be a BLAKE3 hash: 64 lowercase hex digits')],
  ['namespace', (v) => (isNamespace(v) ? null : 'must match ^(omninode|onex)\\.[a-zA-Z0-9_.]+$')],
  ['meta_type', (v) => (IDENTIFIER.test(v) ? null : 'must be an identifier such as tool, agent or schema')],
  [
    'lifecycle',
    (v) => ((LIFECYCLES as readonly string[]).includes(v) ? null : `must be one of ${LIFECYCLES.join(', ')}`),
  ],
]

/** Every way `metadata` falls short of O.N.E. v0.1; `issues` is empty when it complies. */
export function validateProtocol(metadata: unknown): ProtocolValidation {
  if (typeof metadata !== 'object' || metadata === null || Array.isArray(metadata)) {
    return { valid: false, issues: [{ field: '', message: 'metadata must be an object' }] }
  }
  const record = metadata as Record<string, unknown>
  const issues: FieldIssue[] = []
  for (const [field, rule] of rules) {
    const value = record[field]
    if (value === undefined || value === null) issues.push({ field, message: 'is required' })
    else if (typeof value !== 'string') issues.push({ field, message: 'must be a string' })
    else {
      const message = rule(value)
      if (message !== null) issues.push({ field, message })
    }
  }
  const created = typeof record.created_at === 'string' ? parseIsoDateTime(record.created_at) : null
  const modified =
    typeof record.last_modified_at === 'string' ? parseIsoDateTime(record.last_modified_at) : null
  if (created !== null && modified !== null && modified < created) {
    issues.push({ field: 'last_modified_at', message: 'must not be before created_at' })
  }
  return { valid: issues.length === 0, issues }
}

/** `metadata` as O.N.E. v0.1 metadata, or ProtocolViolationError listing every issue. */
export function assertProtocol(metadata: unknown): ProtocolMetadata {
  const { valid, issues } = validateProtocol(metadata)
  if (!valid) throw new ProtocolViolationError('metadata does not comply with O.N.E. v0.1', issues)
  return metadata as ProtocolMetadata
}
