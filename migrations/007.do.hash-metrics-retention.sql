-- The retention of hash_metrics: a day's partition is dropped whole once the day has passed the
-- retention, which costs the same whatever the rows (a DELETE of a day's rows would cost a write per
-- row, and a vacuum after). Rows that landed in the default partition (no partition for their day)
-- are deleted by time; there are few of them.

-- Drops the daily partitions hash_metrics_YYYYMMDD of the days before `before_day`, and deletes the
-- default partition's rows recorded before it. Returns how many partitions it dropped. Called at
-- start and every few hours by the stamping node.
CREATE FUNCTION onex_drop_hash_metrics_partitions(before_day date) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
  part record;
  dropped integer := 0;
BEGIN
  FOR part IN
    SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
    WHERE i.inhparent = 'hash_metrics'::regclass AND c.relname ~ '^hash_metrics_[0-9]{8}$'
      AND to_date(substr(c.relname, 14), 'YYYYMMDD') < before_day
    ORDER BY 1
  LOOP
    EXECUTE format('DROP TABLE IF EXISTS %I', part.name);
    dropped := dropped + 1;
  END LOOP;
  DELETE FROM hash_metrics_default WHERE recorded_at < before_day::timestamp AT TIME ZONE 'UTC';
  RETURN dropped;
END
$$;
