import type { ReducerItem } from './items.ts'
import type { AggregationSettings } from './settings.ts'

/**
 * Closes aggregation batches over items in arrival order: a batch closes when it holds `batchSize`
 * items, or when the next item's event time is `windowSizeMs` or more after the batch's first item
 * (the window closed). Arrival order is kept, so a partition's items stay in order.
 */
export function splitBatches(
  items: readonly ReducerItem[],
  settings: Pick<AggregationSettings, 'batchSize' | 'windowSizeMs'>,
): ReducerItem[][] {
  const batches: ReducerItem[][] = []
  let current: ReducerItem[] = []
  let opened = 0
  for (const item of items) {
    if (
      current.length > 0 &&
      (current.length >= settings.batchSize || Math.abs(item.at - opened) >= settings.windowSizeMs)
    ) {
      batches.push(current)
      current = []
    }
    if (current.length === 0) opened = item.at
    current.push(item)
  }
  if (current.length > 0) batches.push(current)
  return batches
}
