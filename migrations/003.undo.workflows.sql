DROP TABLE IF EXISTS workflow_owners;
DROP TABLE IF EXISTS fsm_transitions;
DROP TABLE IF EXISTS workflow_steps;
DROP TABLE IF EXISTS workflow_executions;
