import Type from 'typebox'

const counts = Type.Record(Type.String(), Type.Integer({ minimum: 0 }))

export const NamespaceParams = Type.Object({
  namespace: Type.String({
    pattern: '^(\\*|(omninode|onex)\\.[a-zA-Z0-9_.]+)$',
    maxLength: 256,
    description: 'The namespace of the state (`*` when namespace_grouping is off)',
  }),
})

export const BridgeStateData = Type.Object({
  namespace: Type.String(),
  item_count: Type.Integer({ description: 'Events counted: stamps, restamps and workflows' }),
  stamp_count: Type.Integer({
    description: 'METADATA_STAMP_CREATED with created: true (new stored records)',
  }),
  restamp_count: Type.Integer({
    description: 'METADATA_STAMP_CREATED with created: false (content already stored)',
  }),
  total_size_bytes: Type.Integer({ description: 'Sum of file_size over the stamps' }),
  unique_file_types: Type.Integer(),
  file_types: counts,
  size_buckets: counts,
  custom: Type.Object({ group_by: Type.Union([Type.String(), Type.Null()]), groups: counts }),
  workflows: Type.Object({
    completed: Type.Integer(),
    failed: Type.Integer(),
    degraded: Type.Integer(),
    duration_ms_total: Type.Number(),
    failed_steps: counts,
  }),
  time_windows: Type.Record(Type.String(), Type.Integer(), {
    description: 'Items per window start, the latest 60',
  }),
  window: Type.Object({ start: Type.String(), end: Type.String(), size_ms: Type.Integer() }),
  first_event_at: Type.String(),
  last_event_at: Type.String(),
  items_per_second: Type.Number({
    description: 'Items over the event time from the first to the last (at least 1 s)',
  }),
  batch_count: Type.Integer(),
  version: Type.Integer(),
  updated_at: Type.String(),
})

export const BridgeStatesData = Type.Object({
  count: Type.Integer(),
  states: Type.Array(BridgeStateData),
  watermarks: Type.Array(
    Type.Object({
      topic: Type.String(),
      partition: Type.Integer(),
      offset: Type.Integer(),
      event_count: Type.Integer(),
    }),
    { description: "The reducer group's last counted offset per partition" },
  ),
})
