DROP TABLE IF EXISTS projection_watermarks;
DROP TABLE IF EXISTS action_dedup;
DROP TABLE IF EXISTS bridge_states;
