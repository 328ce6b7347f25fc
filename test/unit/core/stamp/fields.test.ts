import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { parseIsoDateTime } from '../../../../src/core/stamp/fields.ts'
import { isBlake3Hex, isIsoDateTime, isNamespace, isUuid } from '../../../../src/core/stamp/index.ts'

describe('stamp field formats', () => {
  it('accepts namespaces under omninode or onex only', () => {
    for (const ns of ['omninode.services.metadata', 'onex.a', 'omninode.A_b.9'])
      assert.ok(isNamespace(ns), ns)
    for (const ns of ['omninode', 'omninode.', 'other.x', 'onex.a-b', 'onex.a b', ' onex.a', 42]) {
      assert.ok(!isNamespace(ns), String(ns))
    }
  })

  it('accepts UUIDs in either case, nothing else', () => {
    assert.ok(isUuid('123e4567-e89b-42d3-a456-426614174000'))
    assert.ok(isUuid('123E4567-E89B-42D3-A456-426614174000'))
    assert.ok(!isUuid('123e4567e89b42d3a456426614174000'))
    assert.ok(!isUuid('123e4567-e89b-42d3-a456-42661417400g'))
  })

  it('accepts a BLAKE3 hash as 64 lowercase hex digits', () => {
    assert.ok(isBlake3Hex('a'.repeat(64)))
    assert.ok(!isBlake3Hex('A'.repeat(64)))
    assert.ok(!isBlake3Hex('a'.repeat(63)))
  })

  it('accepts ISO-8601 date-times that name a real instant', () => {
    for (const ts of [
      '2025-01-01T00:00:00Z',
      '2025-01-01T00:00:00.123456+02:00',
      '2024-02-29T23:59',
      '2025-01-01T00:00:00-0500',
    ]) {
      assert.ok(isIsoDateTime(ts), ts)
    }
    for (const ts of [
      '2025-02-29T00:00:00Z',
      '2025-13-01T00:00:00Z',
      '2025-01-01T24:00:00Z',
      '2025-01-01',
      '2025-01-01 00:00:00Z',
      'now',
    ]) {
      assert.ok(!isIsoDateTime(ts), ts)
    }
  })

  it('reads a date-time without an offset as UTC, and applies offsets', () => {
    assert.equal(parseIsoDateTime('2025-01-01T00:00:00'), Date.UTC(2025, 0, 1))
    assert.equal(parseIsoDateTime('2025-01-01T02:00:00+02:00'), Date.UTC(2025, 0, 1))
    assert.equal(parseIsoDateTime('2025-01-01T00:00:00.5Z'), Date.UTC(2025, 0, 1, 0, 0, 0, 500))
  })
})
