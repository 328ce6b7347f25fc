-- Registry node: registrations with their leases, the change queue the leader turns into topology
-- versions, the versioned topology itself, and the leader lease with its fencing epoch.

-- One row per node ever seen. A removed node keeps its row (removed_at, removal_reason) as its
-- tombstone, so that a late or duplicate event about it is recognised as old and ignored.
-- last_event_at is the event_timestamp of the newest introspection or tombstone applied: an older
-- one arriving later (reordered) changes nothing.
CREATE TABLE node_registrations (
  node_id           text PRIMARY KEY,
  namespace         text NOT NULL CHECK (namespace ~ '^(omninode|onex)\.[a-zA-Z0-9_.]+$'),
  node_type         text NOT NULL CHECK (node_type IN ('effect', 'compute', 'reducer', 'orchestrator')),
  node_role         text,
  node_version      text NOT NULL,
  capabilities      jsonb NOT NULL DEFAULT '{}'::jsonb,
  endpoints         jsonb NOT NULL DEFAULT '{}'::jsonb,
  metadata          jsonb NOT NULL DEFAULT '{}'::jsonb,
  health_status     text NOT NULL DEFAULT 'healthy'
                    CHECK (health_status IN ('healthy', 'degraded', 'unhealthy', 'critical', 'recovering')),
  lease_ttl_seconds double precision NOT NULL CHECK (lease_ttl_seconds > 0),
  lease_expires_at  timestamptz NOT NULL,
  -- the epoch the node announced (a restarted node announces a higher one)
  epoch             bigint,
  last_heartbeat    timestamptz NOT NULL,
  last_event_at     timestamptz NOT NULL,
  registered_at     timestamptz NOT NULL DEFAULT now(),
  updated_at        timestamptz NOT NULL DEFAULT now(),
  removed_at        timestamptz,
  removal_reason    text CHECK (removal_reason IN ('graceful_shutdown', 'lease_expired', 'manual_deregistration'))
);

-- The leader's expiry scan
CREATE INDEX node_registrations_lease_idx ON node_registrations (lease_expires_at) WHERE removed_at IS NULL;
-- Discovery: GET /nodes?namespace=...
CREATE INDEX node_registrations_namespace_idx ON node_registrations (namespace) WHERE removed_at IS NULL;

-- Changes of registrations (added, updated, removed) waiting for the leader to give them a topology
-- version. Any registry instance appends here in the transaction of the change; only the leader
-- drains it, so versions are written by one writer and stay gapless.
CREATE TABLE registry_changes (
  id          bigserial PRIMARY KEY,
  change      jsonb NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now()
);

-- The topology as of the latest version: what GET /topology returns with that version.
CREATE TABLE topology_nodes (
  node_id    text PRIMARY KEY,
  node       jsonb NOT NULL
);

-- Every topology version (gapless: version = previous_version + 1), with the epoch of the leader that
-- wrote it. Old versions are pruned; GET /topology/diffs?since= older than the oldest kept gets 410.
CREATE TABLE topology_versions (
  version           bigint PRIMARY KEY CHECK (version > 0),
  previous_version  bigint NOT NULL CHECK (previous_version = version - 1),
  epoch             bigint NOT NULL,
  diff              jsonb NOT NULL,
  created_at        timestamptz NOT NULL DEFAULT now()
);

-- Leader election: one row per lease name. Taking over an expired lease increments the epoch; every
-- leader write locks this row and checks its epoch, so a deposed leader's write is refused.
CREATE TABLE leases (
  name        text PRIMARY KEY,
  holder      text NOT NULL,
  epoch       bigint NOT NULL CHECK (epoch > 0),
  acquired_at timestamptz NOT NULL DEFAULT now(),
  expires_at  timestamptz NOT NULL
);
