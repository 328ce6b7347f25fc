-- The orchestrator: stamp workflows as persisted state machines. Every state change is a row of
-- fsm_transitions written in the transaction that changes workflow_executions.state, with its events
-- in the outbox; every finished step is a row of workflow_steps.

CREATE TABLE workflow_executions (
  id              uuid PRIMARY KEY,
  namespace       text NOT NULL,
  state           text NOT NULL,
  file_path       text,
  -- the request event (cmd.metadata-stamp-request) that created it: a redelivery finds its workflow
  request_event_id uuid UNIQUE,
  correlation_id  uuid,
  session_id      text,
  -- what a resumed workflow needs to run again; cleared once the workflow is terminal
  request         jsonb,
  content         bytea,
  -- the process running it (its instance id): recovery claims the workflows of dead owners
  owner           text,
  degraded        boolean NOT NULL DEFAULT false,
  file_hash       text,
  result          jsonb,
  failed_step     text,
  error_code      text,
  error_message   text,
  created_at      timestamptz NOT NULL DEFAULT now(),
  started_at      timestamptz,
  finished_at     timestamptz,
  updated_at      timestamptz NOT NULL DEFAULT now()
);

-- GET /workflows?state=&namespace= pages by (created_at, id); recovery finds the unfinished ones
CREATE INDEX workflow_executions_page_idx ON workflow_executions (created_at, id);
CREATE INDEX workflow_executions_namespace_idx ON workflow_executions (namespace, created_at, id);
CREATE INDEX workflow_executions_unfinished_idx ON workflow_executions (state, created_at)
  WHERE state IN ('pending', 'processing');

CREATE TABLE workflow_steps (
  workflow_id   uuid NOT NULL REFERENCES workflow_executions (id) ON DELETE CASCADE,
  step          text NOT NULL,
  position      integer NOT NULL,
  status        text NOT NULL CHECK (status IN ('completed', 'failed', 'degraded')),
  attempts      integer NOT NULL CHECK (attempts >= 1),
  started_at    timestamptz NOT NULL,
  duration_ms   double precision NOT NULL CHECK (duration_ms >= 0),
  error_code    text,
  error_message text,
  output        jsonb NOT NULL DEFAULT '{}'::jsonb,
  PRIMARY KEY (workflow_id, step)
);

CREATE TABLE fsm_transitions (
  id          bigserial PRIMARY KEY,
  workflow_id uuid NOT NULL REFERENCES workflow_executions (id) ON DELETE CASCADE,
  from_state  text NOT NULL,
  to_state    text NOT NULL,
  trigger     text NOT NULL,
  at          timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX fsm_transitions_workflow_idx ON fsm_transitions (workflow_id, id);

-- The processes that run workflows, each with its last heartbeat: an owner whose heartbeat is older
-- than the lease is dead, and its unfinished workflows are taken over by a live one.
CREATE TABLE workflow_owners (
  owner        text PRIMARY KEY,
  heartbeat_at timestamptz NOT NULL DEFAULT now()
);
