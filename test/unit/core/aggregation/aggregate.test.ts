import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import {
  ALL_NAMESPACES,
  aggregate,
  applyDelta,
  KEPT_WINDOWS,
  NO_VALUE,
  sizeBucket,
  windowStart,
} from '../../../../src/core/aggregation/aggregate.ts'
import { completed, failed, settings, stamp, T0 } from './fixtures.ts'

describe('aggregate', () => {
  it('groups by namespace: counts, total size and item count per namespace', () => {
    const deltas = aggregate(
      [
        stamp({ namespace: 'omninode.a', file_size: 10 }),
        stamp({ namespace: 'omninode.b', file_size: 20 }),
        stamp({ namespace: 'omninode.a', file_size: 30 }),
      ],
      settings(),
    )
    assert.deepEqual([...deltas.keys()], ['omninode.a', 'omninode.b'])
    assert.equal(deltas.get('omninode.a')!.stamp_count, 2)
    assert.equal(deltas.get('omninode.a')!.total_size_bytes, 40)
    assert.equal(deltas.get('omninode.b')!.total_size_bytes, 20)
    assert.equal(deltas.get('omninode.a')!.item_count, 2)
  })

  it('puts everything under one key when namespace_grouping is off', () => {
    const s = settings()
    const types = new Set(s.types)
    types.delete('namespace_grouping')
    const deltas = aggregate([stamp({ namespace: 'omninode.a' }), stamp({ namespace: 'omninode.b' })], {
      ...s,
      types,
    })
    assert.deepEqual([...deltas.keys()], [ALL_NAMESPACES])
    assert.equal(deltas.get(ALL_NAMESPACES)!.stamp_count, 2)
  })

  it('counts a created:false stamp as a restamp only: not in stamps, size, types or buckets', () => {
    const d = aggregate([stamp({ file_size: 5 }), stamp({ file_size: 7, created: false })], settings()).get(
      'omninode.a',
    )!
    assert.equal(d.stamp_count, 1)
    assert.equal(d.restamp_count, 1)
    assert.equal(d.total_size_bytes, 5)
    assert.deepEqual(d.file_types, { 'text/plain': 1 })
    assert.equal(d.item_count, 2)
  })

  it('groups stamps by file type', () => {
    const d = aggregate(
      [
        stamp({ content_type: 'image/png' }),
        stamp({ content_type: 'text/plain' }),
        stamp({ content_type: 'image/png' }),
      ],
      settings(),
    ).get('omninode.a')!
    assert.deepEqual(d.file_types, { 'image/png': 2, 'text/plain': 1 })
  })

  it('puts sizes in the contract buckets, the bound inclusive, the last bucket open', () => {
    const bounds = [1024, 65_536]
    assert.equal(sizeBucket(0, bounds), '<=1024')
    assert.equal(sizeBucket(1024, bounds), '<=1024')
    assert.equal(sizeBucket(1025, bounds), '<=65536')
    assert.equal(sizeBucket(65_537, bounds), '>65536')
    const d = aggregate([stamp({ file_size: 1 }), stamp({ file_size: 2_000_000 })], settings()).get(
      'omninode.a',
    )!
    assert.deepEqual(d.size_buckets, { '<=1024': 1, '<=16777216': 1 })
  })

  it('counts workflows: completed, degraded, failed per step, durations', () => {
    const d = aggregate(
      [
        completed({ duration_ms: 10 }),
        completed({ degraded: true, duration_ms: 20 }),
        failed({ failed_step: 'stamp_creation' }),
      ],
      settings(),
    ).get('omninode.a')!
    assert.deepEqual(d.workflows, {
      completed: 2,
      failed: 1,
      degraded: 1,
      duration_ms_total: 37,
      failed_steps: { stamp_creation: 1 },
    })
    assert.equal(d.stamp_count, 0, 'a workflow is not a stamp: its stamp comes as METADATA_STAMP_CREATED')
    assert.equal(d.item_count, 3)
  })

  it('skips workflow events when workflow_grouping is off', () => {
    const s = settings()
    const types = new Set(s.types)
    types.delete('workflow_grouping')
    const deltas = aggregate([completed(), stamp({ namespace: 'omninode.b' })], { ...s, types })
    assert.deepEqual([...deltas.keys()], ['omninode.b'])
  })

  it('groups by the custom field, with a value for stamps that lack it', () => {
    const d = aggregate(
      [stamp({ stamp_type: 'rich' }), stamp({ stamp_type: 'rich' }), stamp({ stamp_type: 'lightweight' })],
      settings(),
    ).get('omninode.a')!
    assert.deepEqual(d.custom, { rich: 2, lightweight: 1 })
    const byPath = aggregate(
      [stamp({ file_path: 'a.py' }), stamp()],
      settings({ customGroupBy: 'file_path' }),
    ).get('omninode.a')!
    assert.deepEqual(byPath.custom, { 'a.py': 1, [NO_VALUE]: 1 })
  })

  it('leaves groupings the contract does not list empty', () => {
    const d = aggregate([stamp()], settings({ types: new Set(['namespace_grouping']) })).get('omninode.a')!
    assert.deepEqual(d.file_types, {})
    assert.deepEqual(d.size_buckets, {})
    assert.deepEqual(d.custom, {})
    assert.deepEqual(d.time_windows, {})
    assert.equal(d.stamp_count, 1)
  })

  it('counts items per tumbling time window of window_size_ms, by event time', () => {
    const d = aggregate([stamp({ atMs: 0 }), stamp({ atMs: 999 }), stamp({ atMs: 1000 })], settings()).get(
      'omninode.a',
    )!
    assert.deepEqual(d.time_windows, {
      [new Date(T0).toISOString()]: 2,
      [new Date(T0 + 1000).toISOString()]: 1,
    })
    assert.equal(d.first_at, T0)
    assert.equal(d.last_at, T0 + 1000)
    assert.equal(windowStart(T0 + 1500, 1000), T0 + 1000)
  })
})

describe('applyDelta', () => {
  it('adds a delta to a state, twice the same delta twice the counts', () => {
    const s = settings()
    const d = aggregate([stamp({ file_size: 3, atMs: 0 }), completed({ atMs: 4000 })], s).get('omninode.a')!
    const one = applyDelta(undefined, d, s)
    const two = applyDelta(one, d, s)
    assert.equal(one.stamp_count, 1)
    assert.equal(two.stamp_count, 2)
    assert.equal(two.total_size_bytes, 6)
    assert.equal(two.workflows.completed, 2)
    assert.deepEqual(two.file_types, { 'text/plain': 2 })
    assert.equal(one.stamp_count, 1, 'the first state is not changed')
  })

  it('keeps window bounds and items per second of event time', () => {
    const s = settings()
    const state = applyDelta(
      undefined,
      aggregate([stamp({ atMs: 0 }), stamp({ atMs: 1500 }), stamp({ atMs: 4000 })], s).get('omninode.a')!,
      s,
    )
    assert.equal(state.window_start, T0 + 4000)
    assert.equal(state.window_end, T0 + 5000)
    assert.equal(state.items_per_second, 3 / 4)
    const burst = applyDelta(undefined, aggregate([stamp(), stamp()], s).get('omninode.a')!, s)
    assert.equal(burst.items_per_second, 2, 'a span under a second counts as one second')
  })

  it(`keeps the latest ${KEPT_WINDOWS} time windows`, () => {
    const s = settings()
    const items = Array.from({ length: KEPT_WINDOWS + 5 }, (_, i) => stamp({ atMs: i * 1000 }))
    const state = applyDelta(undefined, aggregate(items, s).get('omninode.a')!, s)
    const keys = Object.keys(state.time_windows).sort()
    assert.equal(keys.length, KEPT_WINDOWS)
    assert.equal(keys[0], new Date(T0 + 5000).toISOString())
    assert.equal(state.item_count, KEPT_WINDOWS + 5, 'counts keep every item')
  })
})
