import { readFileSync } from 'node:fs'
import type { ReducerItem } from '../../../../src/core/aggregation/items.ts'
import { type AggregationSettings, aggregationSettings } from '../../../../src/core/aggregation/settings.ts'
import { parseContract } from '../../../../src/core/contracts/parse.ts'
import type { NodeContract } from '../../../../src/core/contracts/schema.ts'

const file = new URL('../../../../src/nodes/reducer/contract.yaml', import.meta.url)

/** The reducer's own contract, parsed as at start. */
export function reducerContract(): NodeContract {
  return parseContract(readFileSync(file, 'utf8'), 'reducer/contract.yaml')
}

export function settings(overrides: Partial<AggregationSettings> = {}): AggregationSettings {
  return { ...aggregationSettings(reducerContract()), ...overrides }
}

let n = 0
const t0 = Date.parse('2026-11-23T12:00:00.000Z')

export function stamp(
  fields: Partial<Extract<ReducerItem, { kind: 'stamp' }>['payload']> & { atMs?: number } = {},
): ReducerItem {
  const { atMs, ...payload } = fields
  return {
    kind: 'stamp',
    eventId: `e${++n}`,
    at: t0 + (atMs ?? 0),
    payload: {
      file_hash: 'a'.repeat(64),
      namespace: 'omninode.a',
      stamp_type: 'lightweight',
      file_path: null,
      content_type: 'text/plain',
      file_size: 100,
      created: true,
      ...payload,
    },
  }
}

export function completed(
  fields: { namespace?: string; degraded?: boolean; duration_ms?: number; atMs?: number } = {},
): ReducerItem {
  return {
    kind: 'workflow_completed',
    eventId: `e${++n}`,
    at: t0 + (fields.atMs ?? 0),
    payload: {
      workflow_id: `w${n}`,
      namespace: fields.namespace ?? 'omninode.a',
      file_hash: 'b'.repeat(64),
      file_path: 'x.py',
      content_type: 'text/x-python',
      file_size: 10,
      stamp_type: 'rich',
      degraded: fields.degraded ?? false,
      duration_ms: fields.duration_ms ?? 5,
      step_count: 5,
    },
  }
}

export function failed(
  fields: { namespace?: string; failed_step?: string; atMs?: number } = {},
): ReducerItem {
  return {
    kind: 'workflow_failed',
    eventId: `e${++n}`,
    at: t0 + (fields.atMs ?? 0),
    payload: {
      workflow_id: `w${n}`,
      namespace: fields.namespace ?? 'omninode.a',
      failed_step: fields.failed_step ?? 'hash_generation',
      error_code: 'ONEX_CORE_007_INVALID_INPUT',
      error_message: 'bad',
      duration_ms: 7,
    },
  }
}

export const T0 = t0
