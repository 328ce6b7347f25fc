import diagnostics from 'node:diagnostics_channel'
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from '@prometheus-io/client'
import {
  channels,
  type DbQueryObservation,
  type DeadLetterObservation,
  type DlqAlertObservation,
  type EventsPublishedObservation,
  type HashObservation,
  type NodeHealthChangedObservation,
  type TopologyVersionObservation,
} from '../core/diagnostics.ts'
import type { Database } from '../ports/database.ts'

const latencyBuckets = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5]

/**
 * The process's Prometheus registry. HTTP metrics are observed by a fastify hook; hash and database
 * timings arrive on diagnostics channels, so the hot paths never call into metrics code.
 */
export class BridgeMetrics {
  readonly registry = new Registry()
  readonly httpRequests = new Counter({
    name: 'omninode_http_requests_total',
    help: 'HTTP requests answered, by route, method and status code',
    labelNames: ['route', 'method', 'status'] as const,
    registers: [this.registry],
  })
  readonly httpDuration = new Histogram({
    name: 'omninode_http_request_duration_seconds',
    help: 'HTTP request latency, by route and method',
    labelNames: ['route', 'method'] as const,
    buckets: latencyBuckets,
    registers: [this.registry],
  })
  readonly hashDuration = new Histogram({
    name: 'omninode_hash_duration_seconds',
    help: 'BLAKE3 hashing time, by operation and backend',
    labelNames: ['operation', 'backend'] as const,
    buckets: [0.00001, 0.00005, 0.0001, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.05, 0.1, 1],
    registers: [this.registry],
  })
  readonly hashBytes = new Counter({
    name: 'omninode_hash_bytes_total',
    help: 'Bytes hashed, by operation',
    labelNames: ['operation'] as const,
    registers: [this.registry],
  })
  readonly dbDuration = new Histogram({
    name: 'omninode_db_query_duration_seconds',
    help: 'Database round-trip time, by backend and outcome',
    labelNames: ['dialect', 'outcome'] as const,
    buckets: latencyBuckets,
    registers: [this.registry],
  })
  readonly dbUp = new Gauge({
    name: 'omninode_db_up',
    help: '1 when the last database health probe succeeded',
    registers: [this.registry],
  })

  readonly dbPoolSaturated = new Counter({
    name: 'omninode_db_pool_saturation_warnings_total',
    help: 'Times more than 90% of the database pool was in use (at most one per 10 s)',
    registers: [this.registry],
  })
  readonly dbCircuit = new Gauge({
    name: 'omninode_db_circuit_open',
    help: '1 while the database circuit breaker is open (calls fail fast with 503)',
    registers: [this.registry],
  })

  readonly eventsPublished = new Counter({
    name: 'omninode_events_published_total',
    help: 'Events the outbox relay published on the bus, by topic',
    labelNames: ['topic'] as const,
    registers: [this.registry],
  })
  readonly relayFailures = new Counter({
    name: 'omninode_outbox_relay_failures_total',
    help: 'Outbox relay passes that failed (their events are retried, in order)',
    registers: [this.registry],
  })
  readonly dlqMessages = new Counter({
    name: 'omninode_dlq_messages_total',
    help: 'Dead letters seen by the DLQ monitor, by dead-letter topic',
    labelNames: ['topic'] as const,
    registers: [this.registry],
  })
  readonly dlqAlerts = new Counter({
    name: 'omninode_dlq_alerts_total',
    help: 'Times the dead letters of a topic crossed the alert threshold within the window',
    labelNames: ['topic'] as const,
    registers: [this.registry],
  })

  readonly nodeHealthChanges = new Counter({
    name: 'omninode_registry_health_changes_total',
    help: 'Health changes of registered nodes seen by the registry, by previous and new status',
    labelNames: ['from', 'to'] as const,
    registers: [this.registry],
  })
  readonly topologyVersion = new Gauge({
    name: 'omninode_registry_topology_version',
    help: 'The latest topology version this process wrote as registry leader',
    registers: [this.registry],
  })

  #unsubscribe: Array<() => void> = []

  constructor(options: { defaultMetrics?: boolean } = {}) {
    if (options.defaultMetrics !== false)
      collectDefaultMetrics({ register: this.registry, prefix: 'omninode_' })
    this.#subscribe(channels.hash.name, (m: HashObservation) => {
      this.hashDuration.observe({ operation: m.operation, backend: m.backend }, m.durationMs / 1000)
      this.hashBytes.inc({ operation: m.operation }, m.bytes)
    })
    this.#subscribe(channels.dbQuery.name, (m: DbQueryObservation) => {
      this.dbDuration.observe({ dialect: m.dialect, outcome: m.ok ? 'ok' : 'error' }, m.durationMs / 1000)
    })
    this.#subscribe(channels.eventsPublished.name, (m: EventsPublishedObservation) =>
      this.eventsPublished.inc({ topic: m.topic }, m.count),
    )
    this.#subscribe(channels.relayFailed.name, () => this.relayFailures.inc())
    this.#subscribe(channels.deadLetter.name, (m: DeadLetterObservation) =>
      this.dlqMessages.inc({ topic: m.dlqTopic }),
    )
    this.#subscribe(channels.dlqAlert.name, (m: DlqAlertObservation) =>
      this.dlqAlerts.inc({ topic: m.dlqTopic }),
    )
    this.#subscribe(channels.nodeHealthChanged.name, (m: NodeHealthChangedObservation) =>
      this.nodeHealthChanges.inc({ from: m.from, to: m.to }),
    )
    this.#subscribe(channels.topologyVersion.name, (m: TopologyVersionObservation) =>
      this.topologyVersion.set(m.version),
    )
  }

  /** Pool gauges read at scrape time, for databases that have a pool. */
  watchPool(db: Database): void {
    if (!db.stats) return
    const stats = () => db.stats!()
    new Gauge({
      name: 'omninode_db_pool_connections',
      help: 'Database pool connections, by state (in_use, idle, waiting, size)',
      labelNames: ['state'] as const,
      registers: [this.registry],
      collect() {
        const s = stats()
        this.set({ state: 'in_use' }, s.total - s.idle)
        this.set({ state: 'idle' }, s.idle)
        this.set({ state: 'waiting' }, s.waiting)
        this.set({ state: 'size' }, s.size)
      },
    })
  }

  #subscribe<T>(name: string | symbol, onMessage: (m: T) => void): void {
    const handler = (message: unknown) => onMessage(message as T)
    diagnostics.subscribe(name, handler)
    this.#unsubscribe.push(() => diagnostics.unsubscribe(name, handler))
  }

  close(): void {
    for (const off of this.#unsubscribe) off()
    this.#unsubscribe = []
  }
}
