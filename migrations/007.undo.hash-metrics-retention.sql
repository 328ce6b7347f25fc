DROP FUNCTION onex_drop_hash_metrics_partitions(date);
