-- The event backbone: the transactional outbox, the event log (the event tracer's source) and the
-- consumers' deduplication marks. Shared by PGlite and PostgreSQL.

-- Events written in the same transaction as the state change they announce. The outbox relay
-- publishes the rows in id order (the primary key is its queue) and deletes them in the statement
-- that logs them as published in event_logs, which is the history: a row here is an unsent event.
-- (A sent_at column kept for a retention would cost an update, a second index and a later delete
-- per event, to keep a copy of what event_logs has.)
CREATE TABLE event_outbox (
  id          bigserial PRIMARY KEY,
  topic       text NOT NULL,
  key         text NOT NULL,
  envelope    jsonb NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now()
);

-- Every event published (by the relay), consumed (by a subscription handler, each attempt) or
-- dead-lettered (seen on a .dlq topic). `topic` is the event's own topic (for a dead letter, the
-- original topic); `payload` is the envelope's payload (for a dead letter, the dead-letter record).
CREATE TABLE event_logs (
  id              bigserial PRIMARY KEY,
  event_id        uuid NOT NULL,
  event_type      text NOT NULL,
  topic           text NOT NULL,
  partition       integer,
  "offset"        bigint,
  direction       text NOT NULL CHECK (direction IN ('published', 'consumed', 'dead_lettered')),
  consumer_group  text,
  correlation_id  uuid,
  causation_id    uuid,
  session_id      text,
  source_node_id  text,
  status          text NOT NULL CHECK (status IN ('ok', 'failed')),
  error           text,
  attempt         integer,
  duration_ms     double precision CHECK (duration_ms >= 0),
  event_timestamp timestamptz,
  payload         jsonb NOT NULL DEFAULT '{}'::jsonb,
  replayed_at     timestamptz,
  recorded_at     timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX event_logs_correlation_idx ON event_logs (correlation_id, recorded_at)
  WHERE correlation_id IS NOT NULL;
CREATE INDEX event_logs_session_idx ON event_logs (session_id, recorded_at) WHERE session_id IS NOT NULL;
CREATE INDEX event_logs_topic_time_idx ON event_logs (topic, recorded_at);
-- The latest events, `since` polling (omninode events tail) and retention
CREATE INDEX event_logs_recorded_idx ON event_logs (recorded_at);
CREATE INDEX event_logs_dead_letters_idx ON event_logs (recorded_at) WHERE direction = 'dead_lettered';

-- One row per (consumer group, event) a state-changing consumer processed, inserted in the same
-- transaction as that change: a redelivered event finds its row and is skipped.
CREATE TABLE processed_events (
  consumer_group text NOT NULL,
  event_id       uuid NOT NULL,
  processed_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (consumer_group, event_id)
);

CREATE INDEX processed_events_processed_idx ON processed_events (processed_at);
