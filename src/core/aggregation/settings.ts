import type { AggregationType, NodeContract } from '../contracts/schema.ts'

/** The reducer's aggregation settings, as its contract's `aggregation` subcontract gives them. */
export interface AggregationSettings {
  types: ReadonlySet<AggregationType>
  /** Width of a time window (tumbling, by event time); a batch never spans two. */
  windowSizeMs: number
  /** Most items in one aggregation batch. */
  batchSize: number
  /** Ascending upper bounds (bytes) of the size buckets; the last bucket is open. */
  sizeBucketsBytes: readonly number[]
  /** Payload field `custom` aggregation groups stamps by. */
  customGroupBy: string | undefined
}

/** Size buckets when the contract names none. */
export const defaultSizeBuckets = [1024, 65_536, 1_048_576, 16_777_216] as const

/** Throws when the contract has no aggregation subcontract (parseContract refuses a REDUCER without). */
export function aggregationSettings(contract: NodeContract): AggregationSettings {
  const a = contract.aggregation
  if (!a) throw new Error(`contract ${contract.name} has no aggregation subcontract`)
  return {
    types: new Set(a.aggregation_types),
    windowSizeMs: a.window_size_ms,
    batchSize: a.batch_size,
    sizeBucketsBytes: a.size_buckets_bytes ?? defaultSizeBuckets,
    customGroupBy: a.custom_group_by,
  }
}
