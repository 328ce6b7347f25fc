import assert from 'node:assert/strict'
import { test } from 'node:test'
import { createEnvelope } from '../../../../src/core/events/envelope.ts'
import {
  isSessionId,
  sessionIdOf,
  sessionTimeline,
  type TraceEntry,
} from '../../../../src/core/events/trace.ts'

test('the session of an event comes from metadata, else payload, and must look like a session id', () => {
  const envelope = (metadata: Record<string, unknown>, payload: Record<string, unknown>) =>
    createEnvelope(
      { nodeId: 'n', version: '1', environment: 'development' },
      { eventType: 'X', payload, metadata },
      { eventId: '00000000-0000-4000-8000-000000000000', now: new Date(0) },
    )
  assert.equal(sessionIdOf(envelope({ session_id: 'm-1' }, { session_id: 'p-1' })), 'm-1')
  assert.equal(sessionIdOf(envelope({}, { session_id: 'p-1' })), 'p-1')
  assert.equal(sessionIdOf(envelope({}, {})), undefined)
  assert.equal(sessionIdOf(envelope({ session_id: 42 }, {})), undefined)
  assert.equal(isSessionId('a'.repeat(128)), true)
  assert.equal(isSessionId('a'.repeat(129)), false)
  assert.equal(isSessionId('has space'), false)
})

const entry = (over: Partial<TraceEntry> & Pick<TraceEntry, 'id' | 'recorded_at'>): TraceEntry => ({
  event_id: `00000000-0000-4000-8000-00000000000${over.id}`,
  event_type: 'METADATA_STAMP_CREATED',
  topic: 't',
  direction: 'published',
  consumer_group: null,
  correlation_id: 'c1',
  status: 'ok',
  error: null,
  duration_ms: null,
  ...over,
})

test('a timeline orders the steps, times each from the previous one and sums up failures', () => {
  const steps = [
    entry({
      id: 3,
      recorded_at: '2026-01-01T00:00:01.500Z',
      direction: 'consumed',
      consumer_group: 'g',
      event_id: 'e1',
      status: 'failed',
      error: 'boom',
      duration_ms: 100,
    }),
    entry({ id: 1, recorded_at: '2026-01-01T00:00:01.000Z', event_id: 'e1', duration_ms: 250 }),
    entry({
      id: 4,
      recorded_at: '2026-01-01T00:00:02.000Z',
      direction: 'consumed',
      consumer_group: 'g',
      event_id: 'e1',
      duration_ms: 50,
    }),
    entry({ id: 5, recorded_at: '2026-01-01T00:00:02.250Z', event_id: 'e2', correlation_id: 'c2' }),
  ]
  const timeline = sessionTimeline('s', steps)
  assert.deepEqual(
    timeline.steps.map((s) => s.entry.id),
    [1, 3, 4, 5],
  )
  assert.equal(timeline.started_at, '2026-01-01T00:00:00.750Z', 'the first step began 250 ms before it ended')
  assert.equal(timeline.ended_at, '2026-01-01T00:00:02.250Z')
  assert.equal(timeline.total_duration_ms, 1500)
  assert.deepEqual(
    timeline.steps.map((s) => [s.since_start_ms, s.since_previous_ms]),
    [
      [250, 0],
      [750, 500],
      [1250, 500],
      [1500, 250],
    ],
  )
  assert.equal(timeline.failures, 1)
  assert.equal(timeline.status, 'ok', 'the failed attempt was retried successfully')
  assert.equal(timeline.event_count, 2)
  assert.deepEqual(timeline.correlation_ids, ['c1', 'c2'])
})

test('a session fails when an event was dead-lettered or its last attempt failed', () => {
  const base = entry({ id: 1, recorded_at: '2026-01-01T00:00:00Z' })
  const dead = entry({
    id: 2,
    recorded_at: '2026-01-01T00:00:01Z',
    direction: 'dead_lettered',
    status: 'failed',
  })
  assert.equal(sessionTimeline('s', [base, dead]).status, 'failed')
  const lastFailed = entry({
    id: 2,
    recorded_at: '2026-01-01T00:00:01Z',
    direction: 'consumed',
    consumer_group: 'g',
    status: 'failed',
  })
  assert.equal(sessionTimeline('s', [base, lastFailed]).status, 'failed')
  assert.throws(() => sessionTimeline('s', []), RangeError)
})
