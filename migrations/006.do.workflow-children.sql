-- The workflow's steps and transitions without foreign keys to workflow_executions.
--
-- Only WorkflowStore writes these tables, always for a workflow row that exists (inserted in the same
-- transaction, or committed before its first step ran), and workflows are never deleted: the keys
-- guarded nothing that the code does not, and their ON DELETE CASCADE had no use. Each key cost a
-- lookup of the workflow per row written and a share lock on its row (a write of that row's page),
-- which the workflow's own update then had to step over: on PGlite about 80 µs of the 1.3 ms that a
-- workflow costs (5 steps and 2 transitions per workflow).
ALTER TABLE workflow_steps DROP CONSTRAINT workflow_steps_workflow_id_fkey;
ALTER TABLE fsm_transitions DROP CONSTRAINT fsm_transitions_workflow_id_fkey;
