import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { describe, it } from 'node:test'
import { toReducerItem } from '../../../../src/core/aggregation/items.ts'
import { InvalidInputError } from '../../../../src/core/errors.ts'
import { createEnvelope } from '../../../../src/core/events/envelope.ts'

const source = { nodeId: 'test@here', version: '0', environment: 'development' }
const envelope = (eventType: string, payload: Record<string, unknown>) =>
  createEnvelope(
    source,
    { eventType, payload },
    { eventId: randomUUID(), now: new Date('2026-11-23T12:00:00Z') },
  )

const stampPayload = {
  file_hash: 'c'.repeat(64),
  namespace: 'omninode.x',
  stamp_type: 'rich',
  file_path: null,
  content_type: 'text/plain',
  file_size: 12,
  created: true,
  uid: randomUUID(),
}

describe('toReducerItem', () => {
  it('parses the three consumed events, with the event time', () => {
    const item = toReducerItem(envelope('METADATA_STAMP_CREATED', stampPayload))
    assert.equal(item.kind, 'stamp')
    assert.equal(item.at, Date.parse('2026-11-23T12:00:00Z'))
    const done = toReducerItem(
      envelope('STAMP_WORKFLOW_COMPLETED', {
        workflow_id: 'w1',
        namespace: 'omninode.x',
        file_hash: 'c'.repeat(64),
        file_path: null,
        content_type: 'text/plain',
        file_size: 1,
        stamp_type: 'lightweight',
        degraded: true,
        duration_ms: 3.5,
        step_count: 5,
      }),
    )
    assert.equal(done.kind, 'workflow_completed')
    const fail = toReducerItem(
      envelope('STAMP_WORKFLOW_FAILED', {
        workflow_id: 'w2',
        namespace: 'omninode.x',
        failed_step: 'hash_generation',
        error_code: 'ONEX_CORE_007_INVALID_INPUT',
        error_message: 'no',
        duration_ms: 1,
      }),
    )
    assert.equal(fail.kind, 'workflow_failed')
  })

  it('names the bad field of a bad payload', () => {
    assert.throws(
      () => toReducerItem(envelope('METADATA_STAMP_CREATED', { ...stampPayload, file_size: -1 })),
      (err: unknown) => err instanceof InvalidInputError && err.issues.some((i) => i.field === 'file_size'),
    )
    assert.throws(
      () =>
        toReducerItem(envelope('METADATA_STAMP_CREATED', { ...stampPayload, namespace: 'not a namespace' })),
      (err: unknown) => err instanceof InvalidInputError && err.issues.some((i) => i.field === 'namespace'),
    )
    const { namespace: _, ...without } = stampPayload
    assert.throws(
      () => toReducerItem(envelope('METADATA_STAMP_CREATED', without)),
      (err: unknown) => err instanceof InvalidInputError && err.issues.some((i) => i.field === 'namespace'),
    )
  })

  it('refuses an event type the reducer does not consume', () => {
    assert.throws(
      () => toReducerItem(envelope('NODE_HEARTBEAT', {})),
      /NODE_HEARTBEAT is not an event the reducer consumes/,
    )
  })
})
