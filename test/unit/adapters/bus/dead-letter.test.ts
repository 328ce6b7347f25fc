import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { deadLetterMessage, failureReason } from '../../../../src/adapters/bus/dead-letter.ts'
import { InvalidInputError, UnavailableError } from '../../../../src/core/errors.ts'
import { createEnvelope, parseEnvelope } from '../../../../src/core/events/envelope.ts'

const source = { nodeId: 'bus', version: '1.0', environment: 'development' }
const ids = { eventId: '123e4567-e89b-42d3-a456-426614174000', now: new Date('2026-01-02T03:04:05.678Z') }
const original = createEnvelope(
  { ...source, nodeId: 'stamping', environment: 'staging' },
  {
    eventType: 'METADATA_STAMP_CREATED',
    payload: { a: 1 },
    correlationId: 'f47ac10b-58cc-4372-a567-0e02b2c3d479',
  },
  { eventId: '0b6f4d8e-5a1c-4f3e-9b2a-7c8d9e0f1a2b', now: ids.now },
)

describe('deadLetterMessage', () => {
  it('wraps a failed envelope in a valid DEAD_LETTER envelope on <topic>.dlq', () => {
    const value = JSON.stringify(original)
    const { topic, envelope } = deadLetterMessage(
      {
        topic: 'dev.x.v1',
        partition: 2,
        offset: 41n,
        key: 'k',
        value,
        envelope: original,
        groupId: 'g',
        reason: 'Error: boom',
        attempts: 5,
      },
      source,
      ids,
    )
    assert.equal(topic, 'dev.x.v1.dlq')
    assert.deepEqual(parseEnvelope(envelope), envelope)
    assert.equal(envelope.event_type, 'DEAD_LETTER')
    assert.equal(envelope.event_id, ids.eventId)
    assert.equal(envelope.source_node_id, 'bus')
    assert.equal(envelope.environment, 'staging', "the original's environment")
    assert.equal(envelope.correlation_id, original.correlation_id)
    assert.equal(envelope.causation_id, original.event_id)
    assert.equal(envelope.partition_key, 'k')
    assert.deepEqual(envelope.payload, {
      original_topic: 'dev.x.v1',
      original_key: 'k',
      original_data: value,
      failure_reason: 'Error: boom',
      failure_timestamp: '2026-01-02T03:04:05.678Z',
      retry_attempts: 5,
    })
    assert.deepEqual(envelope.metadata, { consumer_group: 'g', original_partition: 2, original_offset: '41' })
  })

  it('carries bytes that were no envelope as text, without a key or correlation', () => {
    const { envelope } = deadLetterMessage(
      {
        topic: 't',
        partition: 0,
        offset: 0n,
        key: null,
        value: new Uint8Array([0x68, 0x69, 0xff]),
        envelope: undefined,
        groupId: 'g',
        reason: 'bad',
        attempts: 0,
      },
      source,
      ids,
    )
    assert.deepEqual(parseEnvelope(envelope), envelope)
    assert.equal(envelope.payload['original_data'], 'hi\ufffd')
    assert.equal(envelope.payload['original_key'], null)
    assert.equal(envelope.environment, 'development')
    assert.equal('correlation_id' in envelope, false)
    assert.equal('causation_id' in envelope, false)
    assert.equal('partition_key' in envelope, false)
  })
})

describe('failureReason', () => {
  it('names the code or the class, then the message', () => {
    assert.equal(failureReason(new TypeError('x is undefined')), 'TypeError: x is undefined')
    assert.equal(failureReason(new UnavailableError('db down')), 'ONEX_CORE_050_SERVICE_UNAVAILABLE: db down')
    assert.equal(failureReason('just a string'), 'non-error thrown: just a string')
  })

  it('lists every field issue of an invalid input', () => {
    const err = new InvalidInputError('invalid envelope at event_id: is required', [
      { field: 'event_id', message: 'is required' },
      { field: 'payload', message: 'is required' },
    ])
    assert.equal(
      failureReason(err),
      'ONEX_CORE_007_INVALID_INPUT: invalid envelope at event_id: is required (also payload: is required)',
    )
  })
})
