import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { InvalidInputError } from '../../../../src/core/errors.ts'
import {
  createEnvelope,
  envelopeKey,
  type OnexEnvelopeV1,
  parseEnvelope,
  replyTo,
  serializeEnvelope,
} from '../../../../src/core/events/envelope.ts'

const source = { nodeId: 'metadata-stamping', version: '0.1.0', environment: 'development' }
const ids = { eventId: '123e4567-e89b-42d3-a456-426614174000', now: new Date('2026-01-02T03:04:05.678Z') }
const correlation = '0b6f4d8e-5a1c-4f3e-9b2a-7c8d9e0f1a2b'
const other = 'f47ac10b-58cc-4372-a567-0e02b2c3d479'

function sample(): OnexEnvelopeV1 {
  return createEnvelope(
    source,
    {
      eventType: 'METADATA_STAMP_CREATED',
      payload: { file_hash: 'ab'.repeat(32) },
      correlationId: correlation,
    },
    ids,
  )
}

/** The InvalidInputError `parse` throws, or a failed assertion when it does not. */
function rejection(parse: () => unknown): InvalidInputError {
  try {
    parse()
  } catch (err) {
    assert.ok(err instanceof InvalidInputError, `not an InvalidInputError: ${String(err)}`)
    return err
  }
  assert.fail('parsed without an error')
}

describe('parseEnvelope', () => {
  it('reads what createEnvelope makes, from an object, text or bytes', () => {
    const e = sample()
    assert.deepEqual(e, {
      envelope_version: '1.0',
      event_id: ids.eventId,
      event_type: 'METADATA_STAMP_CREATED',
      event_version: '1.0',
      event_timestamp: '2026-01-02T03:04:05.678Z',
      source_node_id: 'metadata-stamping',
      source_service: 'omninode-bridge',
      source_version: '0.1.0',
      correlation_id: correlation,
      environment: 'development',
      payload: { file_hash: 'ab'.repeat(32) },
      metadata: {},
    })
    assert.deepEqual(parseEnvelope(e), e)
    assert.deepEqual(parseEnvelope(JSON.stringify(e)), e)
    assert.deepEqual(parseEnvelope(serializeEnvelope(e)), e)
  })

  it('names a missing required field', () => {
    for (const field of ['event_id', 'event_type', 'environment', 'payload', 'metadata'] as const) {
      const e: Partial<OnexEnvelopeV1> = { ...sample() }
      delete e[field]
      const err = rejection(() => parseEnvelope(e))
      assert.equal(err.code, 'ONEX_CORE_007_INVALID_INPUT')
      assert.deepEqual(err.issues, [{ field, message: 'is required' }])
      assert.match(err.message, new RegExp(field))
    }
  })

  it('names every bad field at once', () => {
    const { event_type: _, ...rest } = sample()
    const err = rejection(() => parseEnvelope({ ...rest, event_id: 'nope', envelope_version: '2.0' }))
    assert.deepEqual(err.issues.map((i) => i.field).sort(), ['envelope_version', 'event_id', 'event_type'])
  })

  it('drops unknown fields, also from the text form', () => {
    const withExtras = { ...sample(), shard: 7, nested: { x: 1 } }
    const e = parseEnvelope(withExtras)
    assert.equal('shard' in e, false)
    assert.equal('nested' in e, false)
    assert.deepEqual(e, sample())
    assert.deepEqual(parseEnvelope(JSON.stringify(withExtras)), sample())
  })

  it('keeps optional fields it knows', () => {
    const e = {
      ...sample(),
      source_instance: 'pod-1',
      causation_id: other,
      region: 'eu-west-1',
      partition_key: 'tenant-9',
      security: {
        algorithm: 'ed25519' as const,
        signer_id: 'spiffe://omninode/stamping',
        payload_hash: 'cd'.repeat(32),
        signature: 'c2lnbmF0dXJl',
        signed_at: '2026-01-02T03:04:05Z',
      },
    }
    assert.deepEqual(parseEnvelope(e), e)
  })

  it('rejects a malformed UUID, timestamp or event type, naming the field', () => {
    const cases: Array<[string, Partial<OnexEnvelopeV1>]> = [
      ['event_id', { event_id: '123e4567e89b42d3a456426614174000' }],
      ['correlation_id', { correlation_id: 'not-a-uuid' }],
      ['causation_id', { causation_id: `${other}x` }],
      ['event_timestamp', { event_timestamp: '2026-01-02 03:04:05' }],
      ['event_type', { event_type: 'metadataStampCreated' }],
      ['payload', { payload: [] as unknown as Record<string, unknown> }],
    ]
    for (const [field, change] of cases) {
      const err = rejection(() => parseEnvelope({ ...sample(), ...change }))
      assert.deepEqual(
        err.issues.map((i) => i.field),
        [field],
        `${field}: ${JSON.stringify(err.issues)}`,
      )
    }
  })

  it('rejects bytes or text that are not UTF-8 JSON', () => {
    for (const input of ['not json', '{"event_id":', new Uint8Array([0xff, 0xfe, 0x7b]), '']) {
      const err = rejection(() => parseEnvelope(input))
      assert.deepEqual(
        err.issues.map((i) => i.field),
        ['envelope'],
      )
      assert.match(err.message, /not UTF-8 JSON/)
    }
  })

  it('rejects JSON that is not an object', () => {
    for (const input of ['null', '[]', '42', '"text"']) {
      assert.throws(() => parseEnvelope(input), InvalidInputError, input)
    }
  })
})

describe('envelopeKey', () => {
  it('takes partition_key, else correlation_id, else source_node_id', () => {
    const e = sample()
    assert.equal(envelopeKey({ ...e, partition_key: 'tenant-9' }), 'tenant-9')
    assert.equal(envelopeKey(e), correlation)
    const { correlation_id: _, ...uncorrelated } = e
    assert.equal(envelopeKey(uncorrelated), 'metadata-stamping')
  })

  it('falls back to event_id when nothing else is there', () => {
    const { correlation_id: _, ...e } = sample()
    const bare = { ...e, source_node_id: undefined as unknown as string }
    assert.equal(envelopeKey(bare), ids.eventId)
  })
})

describe('createEnvelope and replyTo', () => {
  it('sets optional fields only when given', () => {
    const e = createEnvelope(
      { ...source, instance: 'pod-1', service: 'other-service' },
      {
        eventType: 'NODE_HEARTBEAT',
        payload: {},
        partitionKey: 'node-1',
        eventVersion: '2.1',
        metadata: { a: 1 },
      },
      ids,
    )
    assert.equal(e.source_instance, 'pod-1')
    assert.equal(e.source_service, 'other-service')
    assert.equal(e.partition_key, 'node-1')
    assert.equal(e.event_version, '2.1')
    assert.deepEqual(e.metadata, { a: 1 })
    assert.equal('correlation_id' in e, false)
    assert.equal('causation_id' in e, false)
  })

  it('a reply keeps the correlation id and names the request as its cause', () => {
    const request = createEnvelope(
      source,
      { eventType: 'CODEGEN_ANALYZE_REQUEST', payload: {}, correlationId: correlation },
      { eventId: other, now: ids.now },
    )
    const reply = replyTo(request, { eventType: 'CODEGEN_ANALYZE_RESPONSE', payload: { ok: true } })
    assert.equal(reply.correlationId, correlation)
    assert.equal(reply.causationId, other)
    assert.deepEqual(reply.payload, { ok: true })
    const e = createEnvelope(source, reply, ids)
    assert.equal(e.correlation_id, correlation)
    assert.equal(e.causation_id, other)
  })

  it('a reply to an uncorrelated request is correlated by the request event id', () => {
    const request = createEnvelope(source, { eventType: 'CODEGEN_MIXIN_REQUEST', payload: {} }, ids)
    const reply = replyTo(request, { eventType: 'CODEGEN_MIXIN_RESPONSE', payload: {} })
    assert.equal(reply.correlationId, ids.eventId)
    assert.equal(reply.causationId, ids.eventId)
  })
})
