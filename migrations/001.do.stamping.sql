-- Stamping node: the stamps it stored, and hash timings partitioned by day.
-- gen_random_uuid() is core PostgreSQL since 13 (PGlite is 17), so no extension is needed.

CREATE TABLE metadata_stamps (
  id                uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  file_hash         text NOT NULL CHECK (file_hash ~ '^[0-9a-f]{64}$'),
  namespace         text NOT NULL CHECK (namespace ~ '^(omninode|onex)\.[a-zA-Z0-9_.]+$'),
  file_path         text,
  file_size         bigint NOT NULL CHECK (file_size >= 0),
  content_type      text NOT NULL,
  stamp_type        text NOT NULL CHECK (stamp_type IN ('lightweight', 'rich', 'sidecar')),
  stamp_data        jsonb NOT NULL,
  intelligence_data jsonb NOT NULL DEFAULT '{}'::jsonb,
  protocol_version  text NOT NULL DEFAULT '0.1',
  metadata_version  text NOT NULL DEFAULT '0.1',
  op_id             uuid NOT NULL,
  created_at        timestamptz NOT NULL DEFAULT now(),
  updated_at        timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT metadata_stamps_hash_namespace_key UNIQUE (file_hash, namespace)
);

-- Keyset pagination of a namespace: WHERE namespace = $1 AND (created_at, id) > cursor ORDER BY created_at, id
CREATE INDEX metadata_stamps_namespace_page_idx ON metadata_stamps (namespace, created_at, id);
-- Containment queries on the jsonb documents (stamp_data @> '{"file_path": ...}')
CREATE INDEX metadata_stamps_stamp_data_gin ON metadata_stamps USING gin (stamp_data jsonb_path_ops);
CREATE INDEX metadata_stamps_intelligence_gin ON metadata_stamps USING gin (intelligence_data jsonb_path_ops);

CREATE TABLE hash_metrics (
  recorded_at  timestamptz NOT NULL,
  operation    text NOT NULL,
  backend      text NOT NULL,
  input_bytes  bigint NOT NULL CHECK (input_bytes >= 0),
  duration_ms  double precision NOT NULL CHECK (duration_ms >= 0)
) PARTITION BY RANGE (recorded_at);

CREATE INDEX hash_metrics_recorded_idx ON hash_metrics (recorded_at);

-- Rows whose day has no partition yet land here instead of failing; maintenance creates days ahead.
CREATE TABLE hash_metrics_default PARTITION OF hash_metrics DEFAULT;

-- Creates the daily (UTC) partitions hash_metrics_YYYYMMDD from `from_day` for `days` days, skipping
-- existing ones. Returns how many it created. Called at start and daily by the stamping node.
CREATE FUNCTION onex_ensure_hash_metrics_partitions(from_day date, days integer) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
  d date;
  created integer := 0;
  part text;
BEGIN
  FOR i IN 0 .. days - 1 LOOP
    d := from_day + i;
    part := 'hash_metrics_' || to_char(d, 'YYYYMMDD');
    IF to_regclass(part) IS NULL THEN
      EXECUTE format(
        'CREATE TABLE %I PARTITION OF hash_metrics FOR VALUES FROM (%L) TO (%L)',
        part, d::text || ' 00:00:00+00', (d + 1)::text || ' 00:00:00+00');
      created := created + 1;
    END IF;
  END LOOP;
  RETURN created;
END
$$;
