-- The reducer's tables (DESIGN section 5): the bridge state per namespace, the events it has counted
-- (exactly-once effect), and how far it got in each partition. Shared by PGlite and PostgreSQL.

-- One row per namespace: the aggregation of every stamp and workflow event counted so far. Counters
-- are columns; the groupings (file types, size buckets, custom groups, workflows, time windows) are
-- jsonb objects of counts, merged by the reducer in the transaction that counts a batch.
CREATE TABLE bridge_states (
  namespace          text PRIMARY KEY,
  item_count         bigint NOT NULL CHECK (item_count >= 0),
  stamp_count        bigint NOT NULL CHECK (stamp_count >= 0),
  restamp_count      bigint NOT NULL CHECK (restamp_count >= 0),
  total_size_bytes   bigint NOT NULL CHECK (total_size_bytes >= 0),
  file_types         jsonb NOT NULL DEFAULT '{}'::jsonb,
  size_buckets       jsonb NOT NULL DEFAULT '{}'::jsonb,
  custom_groups      jsonb NOT NULL DEFAULT '{}'::jsonb,
  workflows          jsonb NOT NULL DEFAULT '{}'::jsonb,
  time_windows       jsonb NOT NULL DEFAULT '{}'::jsonb,
  first_event_at     timestamptz NOT NULL,
  last_event_at      timestamptz NOT NULL,
  window_start       timestamptz NOT NULL,
  window_end         timestamptz NOT NULL,
  items_per_second   double precision NOT NULL,
  batch_count        bigint NOT NULL DEFAULT 0,
  last_batch_id      uuid,
  version            bigint NOT NULL DEFAULT 1,
  created_at         timestamptz NOT NULL DEFAULT now(),
  updated_at         timestamptz NOT NULL DEFAULT now()
);

-- One row per (consumer group, event) counted, inserted in the transaction that counts it: a
-- redelivered or replayed event finds its row and is not counted again.
CREATE TABLE action_dedup (
  consumer_group  text NOT NULL,
  event_id        uuid NOT NULL,
  processed_at    timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (consumer_group, event_id)
);

CREATE INDEX action_dedup_processed_idx ON action_dedup (processed_at);

-- The last offset counted per (consumer group, topic, partition), written with the state it led to.
CREATE TABLE projection_watermarks (
  consumer_group  text NOT NULL,
  topic           text NOT NULL,
  partition       integer NOT NULL,
  "offset"        bigint NOT NULL,
  event_count     bigint NOT NULL DEFAULT 0,
  updated_at      timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (consumer_group, topic, partition)
);
