import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { describe, it } from 'node:test'
import { deadLetterFor } from '../../../../src/adapters/bus/dead-letter.ts'
import {
  backoffMs,
  deliverBatchWithRetries,
  deliverWithRetries,
  failureReason,
} from '../../../../src/adapters/bus/delivery.ts'
import { InvalidInputError } from '../../../../src/core/errors.ts'
import { createEnvelope, parseEnvelope, serializeEnvelope } from '../../../../src/core/events/envelope.ts'
import type { DeliveredEvent } from '../../../../src/ports/event-bus.ts'

const source = { nodeId: 'test-node', version: '1.2.3', environment: 'development' }
const envelope = createEnvelope(
  source,
  { eventType: 'THING_HAPPENED', payload: { n: 1 }, correlationId: randomUUID(), partitionKey: 'k1' },
  { eventId: randomUUID(), now: new Date('2026-01-02T03:04:05.000Z') },
)
const event = { topic: 't', partition: 0, offset: 7n, key: 'k1', envelope }

describe('deliverWithRetries', () => {
  it('calls the handler once when it succeeds, with attempt 1', async () => {
    const seen: DeliveredEvent[] = []
    const outcome = await deliverWithRetries(
      event,
      async (e) => {
        seen.push(e)
      },
      { maxAttempts: 3, backoffMs: 1 },
      new AbortController().signal,
    )
    assert.deepEqual(outcome, { status: 'handled', attempts: 1 })
    assert.equal(seen.length, 1)
    assert.equal(seen[0]!.attempt, 1)
    assert.equal(seen[0]!.offset, 7n)
  })

  it('retries with doubling waits and reports the last error after maxAttempts', async () => {
    const times: number[] = []
    const outcome = await deliverWithRetries(
      event,
      async (e) => {
        times.push(performance.now())
        throw new Error(`failure ${e.attempt}`)
      },
      { maxAttempts: 4, backoffMs: 20 },
      new AbortController().signal,
    )
    assert.deepEqual(outcome, { status: 'failed', attempts: 4, reason: 'Error: failure 4' })
    const gaps = times.slice(1).map((t, i) => t - times[i]!)
    // 20, 40, 80 ms (timers may fire a little late, never early)
    for (const [i, gap] of gaps.entries()) assert.ok(gap >= 20 * 2 ** i - 2, `gap ${i} was ${gap} ms`)
  })

  it('succeeds on a later attempt', async () => {
    const outcome = await deliverWithRetries(
      event,
      async (e) => {
        if (e.attempt < 3) throw new Error('not yet')
      },
      { maxAttempts: 5, backoffMs: 1 },
      new AbortController().signal,
    )
    assert.deepEqual(outcome, { status: 'handled', attempts: 3 })
  })

  it('stops waiting when aborted: the call in flight finishes, no further attempt', async () => {
    const controller = new AbortController()
    let calls = 0
    const outcome = await deliverWithRetries(
      event,
      async () => {
        calls++
        setTimeout(() => controller.abort(), 10)
        throw new Error('fails')
      },
      { maxAttempts: 5, backoffMs: 10_000 },
      controller.signal,
    )
    assert.deepEqual(outcome, { status: 'aborted', attempts: 1 })
    assert.equal(calls, 1)
  })

  it('caps the backoff', () => {
    assert.equal(backoffMs({ maxAttempts: 50, backoffMs: 100 }, 1), 100)
    assert.equal(backoffMs({ maxAttempts: 50, backoffMs: 100 }, 3), 400)
    assert.equal(backoffMs({ maxAttempts: 50, backoffMs: 100 }, 40), 30_000)
  })

  it('names the error code when there is one', () => {
    assert.equal(failureReason(new InvalidInputError('bad')), 'ONEX_CORE_007_INVALID_INPUT: bad')
    assert.equal(failureReason(new TypeError('x')), 'TypeError: x')
    assert.equal(failureReason('plain'), 'thrown: plain')
  })
})

describe('deadLetterFor', () => {
  it('wraps a failed envelope as a DEAD_LETTER event on <topic>.dlq', () => {
    const bytes = serializeEnvelope(envelope)
    const now = new Date('2026-02-03T04:05:06.000Z')
    const letter = deadLetterFor(
      source,
      { topic: 'dev.x.v1', key: 'k1', bytes, envelope, reason: 'Error: boom', attempts: 5 },
      now,
    )
    assert.equal(letter.topic, 'dev.x.v1.dlq')
    const e = parseEnvelope(letter.envelope)
    assert.equal(e.event_type, 'DEAD_LETTER')
    assert.equal(e.correlation_id, envelope.correlation_id)
    assert.equal(e.causation_id, envelope.event_id)
    assert.equal(e.partition_key, 'k1')
    assert.equal(e.source_node_id, 'test-node')
    assert.deepEqual(e.payload, {
      original_topic: 'dev.x.v1',
      original_key: 'k1',
      original_data: new TextDecoder().decode(bytes),
      failure_reason: 'Error: boom',
      failure_timestamp: '2026-02-03T04:05:06.000Z',
      retry_attempts: 5,
    })
  })

  it('keeps bytes that were never an envelope as text, with no key and no correlation', () => {
    const letter = deadLetterFor(source, {
      topic: 't',
      key: null,
      bytes: new TextEncoder().encode('{"half": '),
      reason: 'ONEX_CORE_007_INVALID_INPUT: invalid envelope',
      attempts: 0,
    })
    const e = parseEnvelope(letter.envelope)
    assert.equal(e.correlation_id, undefined)
    assert.equal(e.causation_id, undefined)
    assert.equal(e.partition_key, undefined)
    assert.equal(e.payload['original_data'], '{"half": ')
    assert.equal(e.payload['original_key'], null)
    assert.equal(e.payload['retry_attempts'], 0)
  })
})

describe('deliverBatchWithRetries', () => {
  const events = [0n, 1n, 2n].map((offset) => ({ ...event, offset }))
  const policy = { maxAttempts: 2, backoffMs: 1 }

  it('calls the handler once with the whole batch when it succeeds', async () => {
    const calls: bigint[][] = []
    const outcomes = await deliverBatchWithRetries(
      events,
      async (batch) => {
        calls.push(batch.map((e) => e.offset))
      },
      policy,
      new AbortController().signal,
    )
    assert.deepEqual(calls, [[0n, 1n, 2n]])
    assert.deepEqual(
      outcomes.map((o) => o.status),
      ['handled', 'handled', 'handled'],
    )
  })

  it('splits a failed batch: each event alone, the bad one failed after maxAttempts', async () => {
    const calls: string[] = []
    const outcomes = await deliverBatchWithRetries(
      events,
      async (batch) => {
        calls.push(batch.map((e) => `${e.offset}#${e.attempt}`).join(','))
        if (batch.some((e) => e.offset === 1n)) throw new Error('bad one')
      },
      policy,
      new AbortController().signal,
    )
    assert.deepEqual(calls, ['0#1,1#1,2#1', '0#1', '1#1', '1#2', '2#1'])
    assert.deepEqual(
      outcomes.map((o) => o.status),
      ['handled', 'failed', 'handled'],
    )
    assert.match((outcomes[1] as { reason: string }).reason, /bad one/)
  })

  it('stops at an aborted event: the rest get no outcome', async () => {
    const abort = new AbortController()
    const outcomes = await deliverBatchWithRetries(
      events,
      async () => {
        abort.abort()
        throw new Error('down')
      },
      policy,
      abort.signal,
    )
    assert.deepEqual(
      outcomes.map((o) => o.status),
      ['aborted'],
    )
  })
})
