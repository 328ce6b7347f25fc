import { hostname } from 'node:os'
import type { FastifyPluginAsync } from 'fastify'
import { processOnce, withBatchEventLog, withEventLog } from '../../adapters/events/consumers.ts'
import { EventLogRecorder } from '../../adapters/events/event-log-recorder.ts'
import { EventLogStore, type NewEventLogEntry } from '../../adapters/events/event-log-store.ts'
import { OutboxEnvelopes } from '../../adapters/events/outbox-envelopes.ts'
import { OutboxRelay } from '../../adapters/events/outbox-relay.ts'
import { recordTime } from '../../adapters/events/record-time.ts'
import { SqlOutbox } from '../../adapters/events/sql-outbox.ts'
import {
  channels,
  type EventsPublishedObservation,
  type RelayFailedObservation,
} from '../../core/diagnostics.ts'
import { roundMs } from '../../core/duration.ts'
import { UnavailableError } from '../../core/errors.ts'
import type { EnvelopeSource } from '../../core/events/envelope.ts'
import { topicDefinitions } from '../../core/events/topics.ts'
import { sessionIdOf } from '../../core/events/trace.ts'
import { Recurring } from '../../core/recurring.ts'
import type { Clock } from '../../ports/clock.ts'
import type { Database } from '../../ports/database.ts'
import type { EventBus, OutgoingMessage, Subscription } from '../../ports/event-bus.ts'
import type { BatchConsumerOptions, ConsumerOptions, EventConsumers } from '../../ports/event-consumers.ts'
import { logRetry } from '../../ports/logger.ts'
import { configKeys } from '../config/keys.ts'
import type { BridgeConfig } from '../config/load.ts'
import type { Logger } from '../logger.ts'
import { bridgeVersion } from '../version.ts'
import { DlqMonitor } from './dlq-monitor.ts'
import { eventRoutes } from './routes.ts'
import { EventTracer } from './tracer.ts'

export interface EventBackboneDeps {
  config: Pick<
    BridgeConfig,
    'env' | 'kafkaBrokers' | 'dlqAlertThreshold' | 'dlqAlertWindowMs' | 'eventLogRetentionDays'
  >
  db: Database
  /** None: events are kept in the outbox until a process with a bus publishes them. */
  bus: EventBus | undefined
  clock: Clock
  logger: Logger
  /** Tuning for tests. */
  relay?: { pollIntervalMs?: number; initialBackoffMs?: number; maxBackoffMs?: number }
}

const day = 24 * 60 * 60 * 1000
const pruneEveryMs = 10 * 60 * 1000
/** As long as the dead-letter topics keep their messages (core/events/topics.ts). */
const deadLetterRetentionMs = 30 * day

/**
 * The process's event backbone, whichever nodes it hosts: the outbox every node writes its events to,
 * the relay that publishes them (when a bus is attached), the event log and its tracer routes
 * (/events), the DLQ monitor, and the retention of the event tables.
 */
export class EventBackbone implements EventConsumers {
  readonly outbox: SqlOutbox
  readonly store: EventLogStore
  /** Buffers consumed-event entries: give it to withEventLog. */
  readonly recorder: EventLogRecorder
  readonly tracer: EventTracer
  readonly routes: FastifyPluginAsync
  #deps: EventBackboneDeps
  #relay: OutboxRelay | undefined
  readonly #envelopes: OutboxEnvelopes | undefined
  #monitor: DlqMonitor | undefined
  /** The retention of the event tables, at start and every 10 minutes. */
  #pruning: Recurring
  #unsubscribe: (() => void) | undefined

  constructor(deps: EventBackboneDeps) {
    this.#deps = deps
    const { db, logger } = deps
    this.#pruning = new Recurring((signal) => this.#prune(signal), {
      everyMs: pruneEveryMs,
      atStart: true,
      onError: logRetry(logger, 'event tables not pruned; will retry'),
    })
    this.store = new EventLogStore(db)
    this.recorder = new EventLogRecorder(this.store, {
      onError: logRetry(logger, 'event log entries not written; will retry'),
    })
    const { bus } = deps
    const recorder = this.recorder
    // with a bus, this process's relay publishes what its outbox writes without reading it back
    this.#envelopes = bus ? new OutboxEnvelopes() : undefined
    this.outbox = new SqlOutbox(db, {
      ...(this.#envelopes && { envelopes: this.#envelopes }),
      onError: logRetry(logger, 'deferred events not published; will retry'),
      ...(bus && {
        publishDeferred: async (messages) => {
          const handedAt = recordTime()
          await bus.publishBatch(messages)
          for (const m of messages) recorder.record(publishedEntry(m, handedAt))
          publishedObserver(messages)
        },
      }),
    })
    this.tracer = new EventTracer({ db, store: this.store, outbox: this.outbox })
    const tracer = this.tracer
    this.routes = async (app) => {
      await app.register(eventRoutes, { tracer })
    }
  }

  /** Where a node's events come from (eventSource). */
  source(node: string): EnvelopeSource {
    return eventSource(this.#deps.config, node)
  }

  async start(): Promise<void> {
    const { config, db, bus, logger } = this.#deps
    this.#pruning.start()
    if (!bus) {
      logger.info('no event bus attached: events are kept in the outbox until one is')
      return
    }
    try {
      await bus.ensureTopics(topicDefinitions(config.env))
    } catch (err) {
      // as a database that does not answer at start: fail fast, naming what to check
      const where = config.kafkaBrokers
        ? `the Kafka of ${configKeys.kafkaBrokers.env}=${config.kafkaBrokers.join(',')}`
        : `the ${bus.kind} event bus`
      throw new UnavailableError(
        `cannot create the event topics on ${where}: ${err instanceof Error ? err.message : String(err)}`,
        {
          cause: err,
        },
      )
    }
    const relay = new OutboxRelay(db, bus, {
      ...this.#deps.relay,
      ...(this.#envelopes && { envelopes: this.#envelopes }),
      onPublished: publishedObserver,
      onError: (err, { failures, retryInMs }) => {
        if (channels.relayFailed.hasSubscribers)
          channels.relayFailed.publish({ failures } satisfies RelayFailedObservation)
        if (failures === 1 || failures % 20 === 0)
          logger.warn(
            { err, failures, retry_in_ms: retryInMs },
            'events not published; the outbox keeps them and retries in order',
          )
      },
      onRecovered: (failures) => logger.info({ failures }, 'events published again'),
    })
    this.#unsubscribe = this.outbox.onNotify(() => relay.wake())
    relay.start()
    this.#relay = relay
    this.#monitor = new DlqMonitor({
      bus,
      db,
      store: this.store,
      outbox: this.outbox,
      clock: this.#deps.clock,
      logger,
      environment: config.env,
      source: this.source('dlq-monitor'),
      threshold: config.dlqAlertThreshold,
      windowMs: config.dlqAlertWindowMs,
    })
    await this.#monitor.start()
  }

  /**
   * The `events` component of /health: the bus (up, down, or absent: events wait in the outbox) and
   * the outbox backlog with the age of its oldest event. Never throws.
   */
  async health(): Promise<{ status: string; latency_ms?: number; detail: string }> {
    const { bus, db } = this.#deps
    let backlog: string
    try {
      const { rows } = await db.query<{ n: number; oldest: Date | string | null }>(
        `SELECT (SELECT count(*)::int FROM (SELECT 1 FROM event_outbox LIMIT 10001) capped) AS n,
                (SELECT created_at FROM event_outbox ORDER BY id LIMIT 1) AS oldest`,
      )
      const { n, oldest } = rows[0]!
      const age =
        oldest === null ? '' : `, oldest ${Math.round((Date.now() - new Date(oldest).getTime()) / 1000)} s`
      backlog = `outbox backlog ${n > 10_000 ? 'over 10000' : n}${age}`
    } catch {
      backlog = 'outbox backlog unknown'
    }
    if (!bus) return { status: 'absent', detail: `no event bus attached, ${backlog}` }
    const health = await bus.health().catch((err: unknown) => ({
      ok: false,
      latencyMs: 0,
      error: err instanceof Error ? err.message : String(err),
    }))
    return {
      status: health.ok ? 'up' : 'down',
      latency_ms: roundMs(health.latencyMs),
      detail: `${bus.kind}${health.error ? ` (${health.error})` : ''}, ${backlog}`,
    }
  }

  /**
   * Subscribes a consumer through the pipeline every consumer gets: each attempt in the event log
   * (withEventLog), and the handler run once per event and group (processOnce, in its transaction).
   * Undefined when no bus is attached.
   */
  async subscribe(options: ConsumerOptions): Promise<Subscription | undefined> {
    const { bus, db } = this.#deps
    if (!bus) return undefined
    const { handle, ...subscribe } = options
    return bus.subscribe({
      ...subscribe,
      handler: withEventLog(this.recorder, options.groupId, async (event) => {
        await processOnce(db, options.groupId, event.envelope.event_id, (tx) => handle(event, tx))
      }),
    })
  }

  /**
   * Publishes what the outbox holds now, for at most `timeoutMs` (best effort: what is left stays in
   * the outbox for the next relay). A clean stop calls it so that its nodes' tombstones leave at once.
   */
  async flush(timeoutMs: number): Promise<void> {
    const relay = this.#relay
    if (!relay) return
    const deadline = Date.now() + timeoutMs
    while (Date.now() < deadline) {
      const pass = await relay.relayOnce().catch(() => undefined)
      if (pass !== undefined && pass !== 'locked' && pass.published === 0) return
      if (pass === undefined || pass === 'locked') await new Promise((r) => setTimeout(r, 20))
    }
  }

  /**
   * Subscribes a batch consumer: each event of each attempt in the event log (withBatchEventLog); the
   * handler keeps its own transaction and dedup (BatchConsumerOptions). Undefined when no bus is attached.
   */
  async subscribeBatch(options: BatchConsumerOptions): Promise<Subscription | undefined> {
    const { bus } = this.#deps
    if (!bus) return undefined
    const { handleBatch, ...subscribe } = options
    return bus.subscribeBatch({
      ...subscribe,
      handler: withBatchEventLog(this.recorder, options.groupId, handleBatch),
    })
  }

  /** After the nodes stopped: writes deferred events and log entries, stops the relay and the monitor. */
  /**
   * Publishes what the outbox holds (one last pass) and stops the relay. The bridge calls it before
   * its nodes stop: on the in-process bus the relay's publish waits for the consumers, so they must
   * still run; what is committed after it stays in the outbox for the next start.
   */
  async stopRelay(): Promise<void> {
    await this.#relay?.stop()
  }

  async stop(): Promise<void> {
    await this.#pruning.stop()
    await this.#monitor?.stop()
    await this.outbox.close()
    // rows not published yet stay in the outbox: the next process to start a relay sends them
    await this.#relay?.stop()
    this.#unsubscribe?.()
    await this.recorder.stop()
  }

  async #prune(signal: AbortSignal): Promise<void> {
    const logMs = this.#deps.config.eventLogRetentionDays * day
    const deleted = await this.store.prune(
      {
        logMs,
        deadLetterMs: Math.max(logMs, deadLetterRetentionMs),
        processedMs: Math.max(logMs, deadLetterRetentionMs),
      },
      new Date(),
      { signal },
    )
    if (Object.values(deleted).some((n) => n > 0)) this.#deps.logger.info({ deleted }, 'event tables pruned')
  }
}

/** Where a node's events come from: `<node>@<host>`, this build's version, the configured environment. */
export function eventSource(config: Pick<BridgeConfig, 'env'>, node: string): EnvelopeSource {
  return { nodeId: `${node}@${hostname()}`, version: bridgeVersion, environment: config.env }
}

/** The event log entry of an event published without the outbox (what the relay writes in SQL). */
function publishedEntry(m: OutgoingMessage, handedAt: string): NewEventLogEntry {
  const e = m.envelope
  return {
    event_id: e.event_id,
    event_type: e.event_type,
    topic: m.topic,
    direction: 'published',
    correlation_id: e.correlation_id ?? null,
    causation_id: e.causation_id ?? null,
    session_id: sessionIdOf(e) ?? null,
    source_node_id: e.source_node_id,
    status: 'ok',
    // its time waiting to be published, as the relay logs an outbox row's
    duration_ms: Math.max(0, Date.parse(handedAt) - Date.parse(e.event_timestamp)),
    event_timestamp: e.event_timestamp,
    payload: e.payload,
    recorded_at: handedAt,
  }
}

function publishedObserver(messages: readonly OutgoingMessage[]): void {
  if (!channels.eventsPublished.hasSubscribers) return
  const byTopic = new Map<string, number>()
  for (const m of messages) byTopic.set(m.topic, (byTopic.get(m.topic) ?? 0) + 1)
  for (const [topic, count] of byTopic)
    channels.eventsPublished.publish({ topic, count } satisfies EventsPublishedObservation)
}
