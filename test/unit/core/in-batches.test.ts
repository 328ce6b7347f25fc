import assert from 'node:assert/strict'
import { test } from 'node:test'
import { inBatches } from '../../../src/core/in-batches.ts'

/** A table of `rows` rows that a batch deletes from, up to its limit; records each batch's size. */
function table(rows: number) {
  const batches: number[] = []
  return {
    batches,
    left: () => rows,
    batch: async (limit: number) => {
      const done = Math.min(limit, rows)
      rows -= done
      batches.push(done)
      return done
    },
  }
}

test('batches until one does fewer than the limit, and says how many rows were done', async () => {
  const t = table(7)
  assert.equal(await inBatches(t.batch, { batchSize: 3 }), 7)
  assert.deepEqual(t.batches, [3, 3, 1])
  const exact = table(6)
  assert.equal(await inBatches(exact.batch, { batchSize: 3 }), 6)
  assert.deepEqual(exact.batches, [3, 3, 0], 'a full last batch is followed by one that finds nothing')
  assert.equal(await inBatches(table(0).batch), 0)
})

test('other work runs between two batches', async () => {
  const order: string[] = []
  let n = 0
  await inBatches(
    async (limit) => {
      order.push(`batch ${++n}`)
      // queued while the batch runs: it must get its turn before the next batch
      setImmediate(() => order.push(`other ${n}`))
      return n < 3 ? limit : 0
    },
    { batchSize: 10 },
  )
  assert.deepEqual(order, ['batch 1', 'other 1', 'batch 2', 'other 2', 'batch 3'])
})

test('an abort ends the work after the batch in flight, or during the wait after it', async () => {
  const stop = new AbortController()
  const t = table(100)
  const done = await inBatches(
    async (limit) => {
      const n = await t.batch(limit)
      if (t.batches.length === 2) stop.abort()
      return n
    },
    { batchSize: 10, signal: stop.signal },
  )
  assert.equal(done, 20)
  assert.equal(t.left(), 80, 'what is left waits for the next run')

  const waiting = new AbortController()
  const slow = table(100)
  const run = inBatches(
    async (limit) => {
      // a batch that took a while: the wait after it is as long
      await new Promise((resolve) => setTimeout(resolve, 50))
      return slow.batch(limit)
    },
    { batchSize: 10, signal: waiting.signal },
  )
  setTimeout(() => waiting.abort(), 70)
  assert.equal(await run, 10, 'aborted in the wait after the first batch')
})
