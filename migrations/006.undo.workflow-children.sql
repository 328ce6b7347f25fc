ALTER TABLE workflow_steps ADD CONSTRAINT workflow_steps_workflow_id_fkey
  FOREIGN KEY (workflow_id) REFERENCES workflow_executions (id) ON DELETE CASCADE;
ALTER TABLE fsm_transitions ADD CONSTRAINT fsm_transitions_workflow_id_fkey
  FOREIGN KEY (workflow_id) REFERENCES workflow_executions (id) ON DELETE CASCADE;
