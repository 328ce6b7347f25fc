DROP FUNCTION IF EXISTS onex_ensure_hash_metrics_partitions(date, integer);
DROP TABLE IF EXISTS hash_metrics CASCADE;
DROP TABLE IF EXISTS metadata_stamps;
