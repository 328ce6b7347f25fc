import Type, { type TLiteral, type TSchema } from 'typebox'

/** The nodes this build can host. */
export const nodeNames = ['stamping', 'orchestrator', 'reducer', 'registry'] as const
export type NodeName = (typeof nodeNames)[number]

export interface ConfigKey {
  /** Environment variable. */
  env: string
  /** Key in the YAML config file. */
  yaml: string
  /** `omninode serve` flag, where there is one. */
  flag?: string
  schema: TSchema
  default?: unknown
  /** Split a comma-separated environment value into a list. */
  list?: boolean
  description: string
}

/**
 * Every configuration key, once. Config parsing, `omninode serve --help` and the README's
 * configuration table (checked by test/unit/runtime/config-docs.test.ts) all come from this table.
 */
export const configKeys = {
  env: {
    env: 'OMNINODE_ENV',
    yaml: 'env',
    schema: Type.Union([Type.Literal('development'), Type.Literal('staging'), Type.Literal('production')]),
    default: 'development',
    description: 'Deployment environment; selects `config/<env>.yaml` and the topic prefix',
  },
  host: {
    env: 'OMNINODE_HOST',
    yaml: 'host',
    flag: '--host',
    schema: Type.String({ minLength: 1 }),
    default: '127.0.0.1',
    description: 'Address the HTTP server binds to',
  },
  port: {
    env: 'OMNINODE_PORT',
    yaml: 'port',
    flag: '--port',
    schema: Type.Integer({ minimum: 0, maximum: 65535 }),
    default: 8053,
    description: 'HTTP port (0 picks a free one)',
  },
  httpAcceptors: {
    env: 'OMNINODE_HTTP_ACCEPTORS',
    yaml: 'http_acceptors',
    schema: Type.Integer({ minimum: 1, maximum: 256 }),
    default: 32,
    description:
      'Sockets listening on the HTTP port together (SO_REUSEPORT; Linux, elsewhere 1): each accepts one connection per event-loop turn, so a busy bridge takes a burst of new connections this many times faster',
  },
  dataDir: {
    env: 'OMNINODE_DATA_DIR',
    yaml: 'data_dir',
    flag: '--data-dir',
    schema: Type.String({ minLength: 1 }),
    default: '.omninode',
    description: 'Directory of the embedded database (PGlite) when no `DATABASE_URL` is set',
  },
  nodes: {
    env: 'OMNINODE_NODES',
    yaml: 'nodes',
    flag: '--nodes',
    schema: Type.Array(Type.Union(nodeNames.map((n) => Type.Literal(n)) as [TLiteral<NodeName>]), {
      minItems: 1,
      uniqueItems: true,
    }),
    default: [...nodeNames],
    list: true,
    description: `Nodes this process hosts, comma-separated (${nodeNames.join(', ')})`,
  },
  contractDir: {
    env: 'OMNINODE_CONTRACT_DIR',
    yaml: 'contract_dir',
    schema: Type.String({ minLength: 1 }),
    description:
      "Directory of `<node>/contract.yaml` files that replace the nodes' own contracts (steps, timeouts, retries, windows)",
  },
  databaseUrl: {
    env: 'DATABASE_URL',
    yaml: 'database_url',
    schema: Type.String({ pattern: '^postgres(ql)?://' }),
    description: 'PostgreSQL URL; when set, replaces the embedded database',
  },
  kafkaBrokers: {
    env: 'KAFKA_BROKERS',
    yaml: 'kafka_brokers',
    schema: Type.Array(Type.String({ pattern: '^[^\\s,:]+:[0-9]{1,5}$' }), { minItems: 1 }),
    list: true,
    description:
      'Apache Kafka bootstrap brokers, comma-separated `host:port`; when set, replace the in-process event bus',
  },
  dbPoolSize: {
    env: 'OMNINODE_DB_POOL_SIZE',
    yaml: 'db_pool_size',
    schema: Type.Integer({ minimum: 1, maximum: 50 }),
    default: 10,
    description: 'PostgreSQL connections at most (1 to 50)',
  },
  dbStatementTimeoutMs: {
    env: 'OMNINODE_DB_STATEMENT_TIMEOUT_MS',
    yaml: 'db_statement_timeout_ms',
    schema: Type.Integer({ minimum: 100, maximum: 600000 }),
    default: 5000,
    description: 'PostgreSQL `statement_timeout`; a slower statement fails with 503',
  },
  dbConnectionTimeoutMs: {
    env: 'OMNINODE_DB_CONNECTION_TIMEOUT_MS',
    yaml: 'db_connection_timeout_ms',
    schema: Type.Integer({ minimum: 100, maximum: 60000 }),
    default: 2000,
    description: 'Longest wait to connect to PostgreSQL, or for a free pooled connection',
  },
  dbPreparedStatements: {
    env: 'OMNINODE_DB_PREPARED_STATEMENTS',
    yaml: 'db_prepared_statements',
    schema: Type.Boolean(),
    default: true,
    description:
      'PostgreSQL: prepare each SQL statement once per connection; `false` behind a pooler that does not keep prepared statements (PgBouncer in transaction mode before 1.21)',
  },
  dbApplicationName: {
    env: 'OMNINODE_DB_APPLICATION_NAME',
    yaml: 'db_application_name',
    schema: Type.String({ minLength: 1, maxLength: 63 }),
    default: 'omninode-bridge',
    description: 'PostgreSQL `application_name` (shown in pg_stat_activity)',
  },
  logLevel: {
    env: 'OMNINODE_LOG_LEVEL',
    yaml: 'log_level',
    flag: '--log-level',
    schema: Type.Union(
      ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((l) => Type.Literal(l)),
    ),
    default: 'info',
    description: 'pino log level',
  },
  bodyLimitBytes: {
    env: 'OMNINODE_BODY_LIMIT_BYTES',
    yaml: 'body_limit_bytes',
    schema: Type.Integer({ minimum: 1024, maximum: 1024 * 1024 * 1024 }),
    default: 16 * 1024 * 1024,
    description: 'Largest accepted request body; larger ones get 413',
  },
  hashBackend: {
    env: 'OMNINODE_HASH_BACKEND',
    yaml: 'hash_backend',
    schema: Type.Union([Type.Literal('auto'), Type.Literal('native'), Type.Literal('wasm')]),
    default: 'auto',
    description: 'BLAKE3 implementation: native (SIMD), wasm, or auto (native, else wasm)',
  },
  batchConcurrency: {
    env: 'OMNINODE_BATCH_CONCURRENCY',
    yaml: 'batch_concurrency',
    schema: Type.Integer({ minimum: 1, maximum: 256 }),
    default: 8,
    description: 'Items of one `POST /batch` processed at once',
  },
  batchMaxItems: {
    env: 'OMNINODE_BATCH_MAX_ITEMS',
    yaml: 'batch_max_items',
    schema: Type.Integer({ minimum: 1, maximum: 100000 }),
    default: 1000,
    description: 'Most items accepted in one `POST /batch`',
  },
  maxConcurrentWorkflows: {
    env: 'OMNINODE_MAX_CONCURRENT_WORKFLOWS',
    yaml: 'max_concurrent_workflows',
    schema: Type.Integer({ minimum: 1, maximum: 10000 }),
    default: 64,
    description: 'Stamp workflows that run at once in this process; more wait in the queue',
  },
  workflowQueueLimit: {
    env: 'OMNINODE_WORKFLOW_QUEUE_LIMIT',
    yaml: 'workflow_queue_limit',
    schema: Type.Integer({ minimum: 0, maximum: 1000000 }),
    default: 2000,
    description:
      'Workflows that may wait for a slot; a request that would queue more is refused with 429 and Retry-After',
  },
  workflowRecovery: {
    env: 'OMNINODE_WORKFLOW_RECOVERY',
    yaml: 'workflow_recovery',
    schema: Type.Union([Type.Literal('resume'), Type.Literal('fail')]),
    default: 'resume',
    description:
      'At start, what becomes of workflows a stopped process left pending or processing: resume them from their first unfinished step, or fail them',
  },
  workflowOwnerLeaseMs: {
    env: 'OMNINODE_WORKFLOW_OWNER_LEASE_MS',
    yaml: 'workflow_owner_lease_ms',
    schema: Type.Integer({ minimum: 100, maximum: 3600000 }),
    default: 15000,
    description:
      'A process that ran workflows and has not renewed its lease for this long is dead; its unfinished workflows are taken over (on PostgreSQL; with the embedded database, at once at start)',
  },
  workflowRetentionDays: {
    env: 'OMNINODE_WORKFLOW_RETENTION_DAYS',
    yaml: 'workflow_retention_days',
    schema: Type.Integer({ minimum: 0, maximum: 36500 }),
    default: 0,
    description:
      'Days finished workflows (`GET /workflows`, with their steps and transitions) are kept; 0 keeps them forever. Bridge states keep their counts',
  },
  onextreeUrl: {
    env: 'OMNINODE_ONEXTREE_URL',
    yaml: 'onextree_url',
    schema: Type.String({ pattern: '^https?://' }),
    description:
      'OnexTree base URL for the onextree_intelligence step (`POST <url>/analyze`); unset: the built-in local analyser answers',
  },
  onextreeTimeoutMs: {
    env: 'OMNINODE_ONEXTREE_TIMEOUT_MS',
    yaml: 'onextree_timeout_ms',
    schema: Type.Integer({ minimum: 1, maximum: 60000 }),
    default: 500,
    description:
      'Longest wait for OnexTree; then the local analyser answers and the workflow is marked degraded',
  },
  onextreeCacheTtlMs: {
    env: 'OMNINODE_ONEXTREE_CACHE_TTL_MS',
    yaml: 'onextree_cache_ttl_ms',
    schema: Type.Integer({ minimum: 0, maximum: 86400000 }),
    default: 300000,
    description: "How long OnexTree's answer for a content hash is reused",
  },
  onextreeFailureThreshold: {
    env: 'OMNINODE_ONEXTREE_FAILURE_THRESHOLD',
    yaml: 'onextree_failure_threshold',
    schema: Type.Integer({ minimum: 1, maximum: 1000 }),
    default: 5,
    description:
      'Consecutive OnexTree failures or timeouts that open its circuit (calls then go to the local analyser at once)',
  },
  onextreeHalfOpenMs: {
    env: 'OMNINODE_ONEXTREE_HALF_OPEN_MS',
    yaml: 'onextree_half_open_ms',
    schema: Type.Integer({ minimum: 10, maximum: 3600000 }),
    default: 5000,
    description: "How long OnexTree's open circuit waits before one call probes it again",
  },
  dlqAlertThreshold: {
    env: 'OMNINODE_DLQ_ALERT_THRESHOLD',
    yaml: 'dlq_alert_threshold',
    schema: Type.Integer({ minimum: 0 }),
    default: 10,
    description: 'Dead letters of one topic within the alert window above which a DLQ_ALERT is raised',
  },
  dlqAlertWindowMs: {
    env: 'OMNINODE_DLQ_ALERT_WINDOW_MS',
    yaml: 'dlq_alert_window_ms',
    schema: Type.Integer({ minimum: 1000 }),
    default: 60000,
    description: 'The DLQ alert window (sliding), and the least time between two alerts of one topic',
  },
  eventLogRetentionDays: {
    env: 'OMNINODE_EVENT_LOG_RETENTION_DAYS',
    yaml: 'event_log_retention_days',
    schema: Type.Integer({ minimum: 1, maximum: 3650 }),
    default: 7,
    description:
      'Days the event log (`GET /events`) keeps published and consumed events; dead letters stay 30',
  },
  hashMetricsRetentionDays: {
    env: 'OMNINODE_HASH_METRICS_RETENTION_DAYS',
    yaml: 'hash_metrics_retention_days',
    schema: Type.Integer({ minimum: 1, maximum: 3650 }),
    default: 30,
    description: 'Days of hash timings `hash_metrics` keeps: older daily partitions are dropped whole',
  },
  namespace: {
    env: 'OMNINODE_NAMESPACE',
    yaml: 'namespace',
    schema: Type.String({ pattern: '^(omninode|onex)\\.[a-zA-Z0-9_.]+$' }),
    default: 'omninode.bridge',
    description: 'Namespace the hosted nodes register in (NODE_INTROSPECTION `namespace`)',
  },
  heartbeatIntervalSeconds: {
    env: 'OMNINODE_HEARTBEAT_INTERVAL_SECONDS',
    yaml: 'heartbeat_interval_seconds',
    schema: Type.Number({ minimum: 0.05, maximum: 3600 }),
    default: 30,
    description: 'Seconds between two NODE_HEARTBEATs of each hosted node',
  },
  leaseTtlSeconds: {
    env: 'OMNINODE_LEASE_TTL_SECONDS',
    yaml: 'lease_ttl_seconds',
    schema: Type.Number({ minimum: 0.1, maximum: 86400 }),
    description:
      'Lease the hosted nodes ask the registry for; unset: two heartbeat intervals (two missed heartbeats)',
  },
  registryNamespace: {
    env: 'OMNINODE_REGISTRY_NAMESPACE',
    yaml: 'registry_namespace',
    schema: Type.String({ pattern: '^(omninode|onex)\\.[a-zA-Z0-9_.]+$' }),
    description: 'The one namespace the registry serves (others are refused); unset: every namespace',
  },
  registryLeaderLeaseSeconds: {
    env: 'OMNINODE_REGISTRY_LEADER_LEASE_SECONDS',
    yaml: 'registry_leader_lease_seconds',
    schema: Type.Number({ minimum: 0.3, maximum: 600 }),
    default: 3,
    description: 'Leader lease of the registry instances; a new leader takes over within it after a crash',
  },
  registryVersionsKept: {
    env: 'OMNINODE_REGISTRY_VERSIONS_KEPT',
    yaml: 'registry_versions_kept',
    schema: Type.Integer({ minimum: 10, maximum: 10000000 }),
    default: 10000,
    description: 'Topology versions kept for `GET /topology/diffs` (older: 410, resync from the snapshot)',
  },
  shutdownTimeoutMs: {
    env: 'OMNINODE_SHUTDOWN_TIMEOUT_MS',
    yaml: 'shutdown_timeout_ms',
    schema: Type.Integer({ minimum: 0 }),
    default: 10000,
    description: 'How long a graceful shutdown waits for in-flight requests',
  },
} as const satisfies Record<string, ConfigKey>

export type ConfigKeyName = keyof typeof configKeys
