import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { assertProtocol, validateProtocol } from '../../../../src/core/stamp/index.ts'
import { UID } from './helpers.ts'

const valid = {
  metadata_version: '0.1.0',
  protocol_version: '0.1',
  name: 'metadata-stamping',
  version: '1.2.3',
  uuid: UID,
  author: 'OmniNode',
  created_at: '2025-01-01T00:00:00Z',
  last_modified_at: '2025-01-02T08:30:00.123+02:00',
  description: 'Stamps content with BLAKE3 metadata',
  hash: 'a'.repeat(64),
  namespace: 'omninode.services.metadata',
  meta_type: 'tool',
  lifecycle: 'active',
}

describe('validateProtocol (O.N.E. v0.1)', () => {
  it('accepts complete metadata, extra fields included', () => {
    assert.deepEqual(validateProtocol(valid), { valid: true, issues: [] })
    assert.deepEqual(validateProtocol({ ...valid, tags: ['x'], description: '' }), {
      valid: true,
      issues: [],
    })
  })

  it('accepts the value variants it documents', () => {
    const variants = [
      { version: '2.0' },
      { version: '1.0.0-rc.1+build.5' },
      { protocol_version: '0.1.2' },
      { meta_type: 'ignore_config' },
      { meta_type: 'SomeNewKind' },
      { lifecycle: 'draft' },
      { lifecycle: 'deprecated' },
      { lifecycle: 'archived' },
      { namespace: 'onex.tools.v2' },
      { created_at: '2025-01-01T00:00:00', last_modified_at: '2025-01-01T00:00:00' },
    ]
    for (const variant of variants)
      assert.deepEqual(validateProtocol({ ...valid, ...variant }).issues, [], JSON.stringify(variant))
  })

  it('reports one issue for anything that is not an object', () => {
    for (const value of [null, undefined, 'x', 1, [valid]]) {
      assert.deepEqual(validateProtocol(value), {
        valid: false,
        issues: [{ field: '', message: 'metadata must be an object' }],
      })
    }
  })

  it('reports every missing field', () => {
    const result = validateProtocol({})
    assert.equal(result.valid, false)
    assert.deepEqual(
      result.issues.map((i) => [i.field, i.message]),
      Object.keys(valid).map((field) => [field, 'is required']),
    )
  })

  it('reports every violation at once, not only the first', () => {
    const result = validateProtocol({
      ...valid,
      metadata_version: 1,
      protocol_version: '1.0',
      name: '  ',
      version: 'latest',
      uuid: 'not-a-uuid',
      author: null,
      created_at: '2025-02-30T00:00:00Z',
      last_modified_at: 'yesterday',
      hash: 'A'.repeat(64),
      namespace: 'acme.tools',
      meta_type: 'has space',
      lifecycle: 'retired',
    })
    assert.equal(result.valid, false)
    assert.deepEqual(
      result.issues.map((i) => i.field),
      [
        'metadata_version',
        'protocol_version',
        'name',
        'version',
        'uuid',
        'author',
        'created_at',
        'last_modified_at',
        'hash',
        'namespace',
        'meta_type',
        'lifecycle',
      ],
    )
    assert.deepEqual(result.issues[0], { field: 'metadata_version', message: 'must be a string' })
    assert.deepEqual(result.issues[5], { field: 'author', message: 'is required' })
  })

  it('requires last_modified_at not to be before created_at, offsets considered', () => {
    const before = validateProtocol({
      ...valid,
      created_at: '2025-01-02T00:00:00Z',
      last_modified_at: '2025-01-02T01:00:00+02:00',
    })
    assert.deepEqual(before.issues, [{ field: 'last_modified_at', message: 'must not be before created_at' }])
    const same = validateProtocol({
      ...valid,
      created_at: '2025-01-02T00:00:00Z',
      last_modified_at: '2025-01-02T02:00:00+02:00',
    })
    assert.equal(same.valid, true)
  })

  it('throws ProtocolViolationError with every issue from assertProtocol', () => {
    assert.equal(assertProtocol(valid).name, 'metadata-stamping')
    assert.throws(
      () => assertProtocol({ ...valid, hash: 'x', lifecycle: 'x' }),
      (error: Error & { code?: string; details?: unknown }) => {
        assert.equal(error.code, 'ONEX_CORE_021_PROTOCOL_VIOLATION')
        assert.deepEqual(
          (error.details as { issues: Array<{ field: string }> }).issues.map((i) => i.field),
          ['hash', 'lifecycle'],
        )
        return true
      },
    )
  })
})
