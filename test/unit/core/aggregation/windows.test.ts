import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { splitBatches } from '../../../../src/core/aggregation/windows.ts'
import { stamp } from './fixtures.ts'

describe('splitBatches', () => {
  it('closes a batch at batch_size items', () => {
    const items = Array.from({ length: 7 }, () => stamp())
    const batches = splitBatches(items, { batchSize: 3, windowSizeMs: 1000 })
    assert.deepEqual(
      batches.map((b) => b.length),
      [3, 3, 1],
    )
    assert.deepEqual(batches.flat(), items, 'arrival order is kept')
  })

  it('closes a batch when an item comes window_size_ms or more after its first', () => {
    const items = [stamp({ atMs: 0 }), stamp({ atMs: 999 }), stamp({ atMs: 1000 }), stamp({ atMs: 1200 })]
    assert.deepEqual(
      splitBatches(items, { batchSize: 100, windowSizeMs: 1000 }).map((b) => b.length),
      [2, 2],
    )
  })

  it('treats an item older than the batch start by a window as outside it too', () => {
    const items = [stamp({ atMs: 5000 }), stamp({ atMs: 3000 })]
    assert.equal(splitBatches(items, { batchSize: 100, windowSizeMs: 1000 }).length, 2)
  })

  it('gives no batch for no items', () => {
    assert.deepEqual(splitBatches([], { batchSize: 3, windowSizeMs: 1000 }), [])
  })
})
