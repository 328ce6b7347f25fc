import assert from 'node:assert/strict'
import { test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { BatchBuffer, type BatchBufferOptions } from '../../../src/core/batch-buffer.ts'

/** A buffer whose writes are kept in `written`, one array per batch. */
function recording(options: Omit<BatchBufferOptions<number>, 'write'>) {
  const written: number[][] = []
  const buffer = new BatchBuffer<number>({
    write: async (batch) => {
      written.push(batch)
    },
    ...options,
  })
  return { buffer, written }
}

test('writes in batches of at most batchSize, in order: by size at once, the rest by the timer', async () => {
  const { buffer, written } = recording({ batchSize: 3, flushIntervalMs: 20, maxBuffered: 100 })
  buffer.addAll([1, 2, 3, 4])
  await buffer.flush()
  assert.deepEqual(written, [[1, 2, 3], [4]], 'one flush writes everything waiting, batch after batch')

  buffer.addAll([5, 6, 7])
  await sleep(0)
  assert.deepEqual(written.at(-1), [5, 6, 7], 'a full batch starts a write at once')
  buffer.add(8)
  assert.equal(buffer.length, 1)
  await sleep(60)
  assert.deepEqual(written.at(-1), [8], 'the timer writes what is left')
  assert.equal(buffer.length, 0)
  await buffer.stop()
})

test('bounded: beyond maxBuffered the oldest go, counted in dropped', async () => {
  const buffer = new BatchBuffer<number>({
    write: async () => {},
    batchSize: 1_000_000,
    flushIntervalMs: 60_000,
    maxBuffered: 2_000,
  })
  for (let i = 0; i < 5_000; i++) buffer.add(i)
  assert.equal(buffer.length, 2_000)
  assert.equal(buffer.dropped, 3_000)
  const { buffer: check, written } = recording({ batchSize: 10_000, flushIntervalMs: 60_000, maxBuffered: 3 })
  check.addAll([1, 2, 3, 4, 5])
  await check.stop()
  assert.deepEqual(written, [[3, 4, 5]])
  assert.equal(check.dropped, 2)
  await buffer.stop()
})

test('a failed batch goes back first; while writes fail only the timer retries, and size flushes resume after a success', async () => {
  const written: number[][] = []
  const errors: unknown[] = []
  let attempts = 0
  let away = true
  const buffer = new BatchBuffer<number>({
    write: async (batch) => {
      attempts++
      if (away) throw new Error('store away')
      written.push(batch)
    },
    batchSize: 2,
    flushIntervalMs: 30,
    maxBuffered: 5,
    onError: (err) => errors.push(err),
  })
  buffer.addAll([1, 2])
  await buffer.flush()
  assert.equal(attempts, 1)
  assert.equal(buffer.length, 2, 'the batch was kept')

  // full batches while the store is away do not start writes of their own
  for (let i = 3; i <= 8; i++) buffer.add(i)
  await sleep(0)
  assert.equal(attempts, 1, 'no write per item added while failing')
  assert.equal(buffer.length, 5)
  assert.equal(buffer.dropped, 3, 'the oldest (1, 2, 3) went')

  await sleep(50)
  assert.ok(attempts >= 2, 'the timer tried again')
  assert.equal(errors.length, attempts)

  away = false
  await buffer.flush()
  assert.deepEqual(written.flat(), [4, 5, 6, 7, 8], 'kept in order, the put-back batch first')
  const before = attempts
  buffer.addAll([9, 10])
  await sleep(0)
  assert.equal(attempts, before + 1, 'a full batch writes at once again')
  assert.deepEqual(written.at(-1), [9, 10])
  await buffer.stop()
})

test('stop writes what waits and arms no timer after', async () => {
  const { buffer, written } = recording({ batchSize: 100, flushIntervalMs: 10, maxBuffered: 100 })
  buffer.addAll([1, 2])
  await buffer.stop()
  assert.deepEqual(written.flat(), [1, 2])
  buffer.add(3)
  await sleep(40)
  assert.deepEqual(written.flat(), [1, 2], 'nothing written by a timer after stop')
  assert.equal(buffer.length, 1)
})
