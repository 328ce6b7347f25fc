import type { ReducerItem } from './items.ts'
import type { AggregationSettings } from './settings.ts'

/**
 * Pure aggregation: items in, per-namespace deltas out, and deltas merged into bridge states.
 * Which groupings are kept is the contract's `aggregation_types`:
 * - namespace_grouping: one state per namespace (without it, every item goes to ALL_NAMESPACES);
 * - time_window: item counts per tumbling window of `window_size_ms` (event time), the latest kept;
 * - file_type_grouping: stamps per content type;
 * - size_buckets: stamps per size bucket (`<=1024`, ..., `>16777216`);
 * - workflow_grouping: workflows completed, failed (per failed step), degraded, and their durations;
 * - custom: stamps per value of the payload field `custom_group_by`.
 *
 * What is counted: a stamp is a METADATA_STAMP_CREATED with `created: true` (a new stored record); one
 * with `created: false` re-stamped content already stored in its namespace and counts as a restamp
 * only, so `stamp_count` and `total_size_bytes` equal what the stamping store holds. File types,
 * size buckets and the custom grouping count stamps the same way. Workflows come only from the
 * workflow events (the stamp a workflow creates arrives as its own METADATA_STAMP_CREATED).
 */

/** The state key when namespace_grouping is off. */
export const ALL_NAMESPACES = '*'
/** How many time windows a state keeps (the latest). */
export const KEPT_WINDOWS = 60
/** The custom group of a stamp whose payload lacks the field. */
export const NO_VALUE = '(none)'

export interface WorkflowCounts {
  completed: number
  failed: number
  degraded: number
  /** Sum of the durations of completed and failed workflows. */
  duration_ms_total: number
  /** Failed workflows per failed step. */
  failed_steps: Record<string, number>
}

/** What one batch adds to one namespace (also the shape of a whole state's counters). */
export interface NamespaceDelta {
  namespace: string
  /** Every event aggregated (stamps, restamps and workflows). */
  item_count: number
  stamp_count: number
  restamp_count: number
  total_size_bytes: number
  file_types: Record<string, number>
  size_buckets: Record<string, number>
  custom: Record<string, number>
  workflows: WorkflowCounts
  /** Items per window start (ISO-8601). */
  time_windows: Record<string, number>
  /** Event time of the earliest and latest item (ms). */
  first_at: number
  last_at: number
}

export interface BridgeState extends NamespaceDelta {
  /** Items per second of event time over the state's life (first_at to last_at, at least 1 s). */
  items_per_second: number
  /** Bounds of the latest time window. */
  window_start: number
  window_end: number
}

export function emptyDelta(namespace: string): NamespaceDelta {
  return {
    namespace,
    item_count: 0,
    stamp_count: 0,
    restamp_count: 0,
    total_size_bytes: 0,
    file_types: {},
    size_buckets: {},
    custom: {},
    workflows: { completed: 0, failed: 0, degraded: 0, duration_ms_total: 0, failed_steps: {} },
    time_windows: {},
    first_at: Number.POSITIVE_INFINITY,
    last_at: Number.NEGATIVE_INFINITY,
  }
}

/** The label of the bucket `size` falls in: `<=B` for the first bound B it does not exceed, else `>LAST`. */
export function sizeBucket(size: number, bounds: readonly number[]): string {
  for (const b of bounds) if (size <= b) return `<=${b}`
  return `>${bounds[bounds.length - 1]}`
}

/** Start (ms) of the tumbling window `at` falls in. */
export function windowStart(at: number, windowSizeMs: number): number {
  return Math.floor(at / windowSizeMs) * windowSizeMs
}

function bump(counts: Record<string, number>, key: string, by = 1): void {
  counts[key] = (counts[key] ?? 0) + by
}

/** Aggregates `items` into one delta per namespace (insertion order of first appearance). */
export function aggregate(
  items: readonly ReducerItem[],
  settings: AggregationSettings,
): Map<string, NamespaceDelta> {
  const t = settings.types
  const byNamespace = t.has('namespace_grouping')
  const fileTypes = t.has('file_type_grouping')
  const buckets = t.has('size_buckets')
  const windows = t.has('time_window')
  const workflows = t.has('workflow_grouping')
  const custom = t.has('custom') ? settings.customGroupBy : undefined
  const deltas = new Map<string, NamespaceDelta>()
  // window labels by window start: an ISO string per item would cost more than the rest together
  const labels = new Map<number, string>()
  const windowLabel = (at: number) => {
    const start = windowStart(at, settings.windowSizeMs)
    let label = labels.get(start)
    if (label === undefined) {
      label = new Date(start).toISOString()
      labels.set(start, label)
    }
    return label
  }
  for (const item of items) {
    const ns = byNamespace ? item.payload.namespace : ALL_NAMESPACES
    let d = deltas.get(ns)
    if (d === undefined) {
      d = emptyDelta(ns)
      deltas.set(ns, d)
    }
    if (item.kind !== 'stamp' && !workflows) continue
    d.item_count++
    if (item.at < d.first_at) d.first_at = item.at
    if (item.at > d.last_at) d.last_at = item.at
    if (windows) bump(d.time_windows, windowLabel(item.at))
    switch (item.kind) {
      case 'stamp': {
        const p = item.payload
        if (!p.created) {
          d.restamp_count++
          break
        }
        d.stamp_count++
        d.total_size_bytes += p.file_size
        if (fileTypes) bump(d.file_types, p.content_type)
        if (buckets) bump(d.size_buckets, sizeBucket(p.file_size, settings.sizeBucketsBytes))
        if (custom !== undefined) {
          const value = (p as Record<string, unknown>)[custom]
          bump(d.custom, value === undefined || value === null ? NO_VALUE : String(value))
        }
        break
      }
      case 'workflow_completed':
        d.workflows.completed++
        if (item.payload.degraded) d.workflows.degraded++
        d.workflows.duration_ms_total += item.payload.duration_ms
        break
      case 'workflow_failed':
        d.workflows.failed++
        d.workflows.duration_ms_total += item.payload.duration_ms
        bump(d.workflows.failed_steps, item.payload.failed_step)
        break
    }
  }
  // a namespace whose items were all skipped (workflow_grouping off) has nothing to add
  for (const [ns, d] of deltas) if (d.item_count === 0) deltas.delete(ns)
  return deltas
}

function addCounts(into: Record<string, number>, from: Record<string, number>): Record<string, number> {
  const out = { ...into }
  for (const [k, v] of Object.entries(from)) out[k] = (out[k] ?? 0) + v
  return out
}

/** The latest `KEPT_WINDOWS` windows (ISO keys sort by time). */
function keepLatest(windows: Record<string, number>): Record<string, number> {
  const keys = Object.keys(windows).sort()
  if (keys.length <= KEPT_WINDOWS) return windows
  const out: Record<string, number> = {}
  for (const k of keys.slice(-KEPT_WINDOWS)) out[k] = windows[k]!
  return out
}

/** `state` (undefined: none yet) with `delta` added. Pure: neither argument is changed. */
export function applyDelta(
  state: BridgeState | undefined,
  delta: NamespaceDelta,
  settings: Pick<AggregationSettings, 'windowSizeMs'>,
): BridgeState {
  const base = state ?? {
    ...emptyDelta(delta.namespace),
    items_per_second: 0,
    window_start: 0,
    window_end: 0,
  }
  const first_at = Math.min(base.first_at, delta.first_at)
  const last_at = Math.max(base.last_at, delta.last_at)
  const item_count = base.item_count + delta.item_count
  const seconds = Math.max(1, (last_at - first_at) / 1000)
  const window_start = windowStart(last_at, settings.windowSizeMs)
  const w = base.workflows
  const dw = delta.workflows
  return {
    namespace: delta.namespace,
    item_count,
    stamp_count: base.stamp_count + delta.stamp_count,
    restamp_count: base.restamp_count + delta.restamp_count,
    total_size_bytes: base.total_size_bytes + delta.total_size_bytes,
    file_types: addCounts(base.file_types, delta.file_types),
    size_buckets: addCounts(base.size_buckets, delta.size_buckets),
    custom: addCounts(base.custom, delta.custom),
    workflows: {
      completed: w.completed + dw.completed,
      failed: w.failed + dw.failed,
      degraded: w.degraded + dw.degraded,
      duration_ms_total: w.duration_ms_total + dw.duration_ms_total,
      failed_steps: addCounts(w.failed_steps, dw.failed_steps),
    },
    time_windows: keepLatest(addCounts(base.time_windows, delta.time_windows)),
    first_at,
    last_at,
    items_per_second: item_count / seconds,
    window_start,
    window_end: window_start + settings.windowSizeMs,
  }
}
