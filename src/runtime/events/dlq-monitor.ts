import { randomUUID } from 'node:crypto'
import { processOnce } from '../../adapters/events/consumers.ts'
import type { EventLogStore, NewEventLogEntry } from '../../adapters/events/event-log-store.ts'
import { recordTime } from '../../adapters/events/record-time.ts'
import { channels, type DeadLetterObservation, type DlqAlertObservation } from '../../core/diagnostics.ts'
import { DlqAlarm } from '../../core/events/dlq-alarm.ts'
import {
  createEnvelope,
  type EnvelopeSource,
  type OnexEnvelopeV1,
  parseEnvelope,
} from '../../core/events/envelope.ts'
import { dlqTopicNames, type Environment, topicName } from '../../core/events/topics.ts'
import { sessionIdOf } from '../../core/events/trace.ts'
import type { Clock } from '../../ports/clock.ts'
import type { Database } from '../../ports/database.ts'
import type { DeadLetter, DeliveredEvent, EventBus, Subscription } from '../../ports/event-bus.ts'
import type { NodeLogger } from '../../ports/logger.ts'
import type { Outbox } from '../../ports/outbox.ts'

export const dlqMonitorGroup = 'omninode-dlq-monitor'

export interface DlqMonitorDeps {
  bus: EventBus
  db: Database
  store: EventLogStore
  outbox: Outbox
  clock: Clock
  logger: NodeLogger
  environment: Environment
  source: EnvelopeSource
  /** More dead letters of one topic than this within the window raise an alert. */
  threshold: number
  windowMs: number
}

/**
 * The DLQ monitor: one consumer group over every dead-letter topic of the catalogue. Each dead letter
 * becomes an event log entry (direction `dead_lettered`, under the original event's id, correlation
 * and session, with the dead-letter record as payload: what `omninode events dlq` lists and replays),
 * written once per dead letter (processOnce on the dead letter's own event id), and is counted
 * (omninode_dlq_messages_total). More than `threshold` recent ones (failed within the window) of one
 * topic within `windowMs` log a warning, count an alert (omninode_dlq_alerts_total) and publish a
 * DLQ_ALERT event through the outbox.
 */
export class DlqMonitor {
  #deps: DlqMonitorDeps
  #alarm: DlqAlarm
  #subscription: Subscription | undefined

  constructor(deps: DlqMonitorDeps) {
    this.#deps = deps
    this.#alarm = new DlqAlarm({ threshold: deps.threshold, windowMs: deps.windowMs })
  }

  async start(): Promise<void> {
    this.#subscription ??= await this.#deps.bus.subscribe({
      groupId: dlqMonitorGroup,
      topics: dlqTopicNames(this.#deps.environment),
      handler: (event) => this.handle(event),
      // Recording a dead letter fails only while the database is away: keep trying for minutes.
      maxAttempts: 12,
      retryBackoffMs: 250,
    })
  }

  async stop(): Promise<void> {
    await this.#subscription?.stop()
    this.#subscription = undefined
  }

  /** One dead letter (the subscription's handler). */
  async handle(event: DeliveredEvent): Promise<void> {
    const { record, original } = readDeadLetter(event)
    const entry = deadLetterEntry(event, record, original)
    const outcome = await processOnce(this.#deps.db, dlqMonitorGroup, event.envelope.event_id, (tx) =>
      this.#deps.store.insert([entry], tx),
    )
    if (outcome.duplicate) return
    if (channels.deadLetter.hasSubscribers)
      channels.deadLetter.publish({
        dlqTopic: event.topic,
        originalTopic: record.original_topic,
      } satisfies DeadLetterObservation)

    // A dead letter that failed more than a window ago (a new monitor group reading a topic's
    // backlog) is logged and counted, but it is no news: it does not feed the alarm.
    const now = this.#deps.clock.now().getTime()
    const failedAt = Date.parse(record.failure_timestamp)
    if (now - failedAt > this.#deps.windowMs) return
    const verdict = this.#alarm.observe(event.topic, now)
    if (verdict.alert) await this.#alert(event.topic, record, verdict.count)
  }

  async #alert(dlqTopic: string, last: DeadLetter, count: number): Promise<void> {
    const { threshold, windowMs } = this.#deps
    this.#deps.logger.warn(
      { dlq_topic: dlqTopic, count, threshold, window_ms: windowMs, last_failure: last.failure_reason },
      `${count} dead letters on ${dlqTopic} within ${windowMs / 1000} s (alert threshold ${threshold})`,
    )
    if (channels.dlqAlert.hasSubscribers)
      channels.dlqAlert.publish({ dlqTopic, count, threshold, windowMs } satisfies DlqAlertObservation)
    const envelope = createEnvelope(
      this.#deps.source,
      {
        eventType: 'DLQ_ALERT',
        partitionKey: dlqTopic,
        payload: {
          dlq_topic: dlqTopic,
          original_topic: last.original_topic,
          count,
          threshold,
          window_ms: windowMs,
          last_failure_reason: last.failure_reason,
          last_failure_timestamp: last.failure_timestamp,
        },
      },
      { eventId: randomUUID(), now: this.#deps.clock.now() },
    )
    // The dead letter is recorded already: a lost alert event must not make it count twice on retry.
    await this.#deps.outbox
      .write([{ topic: topicName(this.#deps.environment, 'dlqAlert'), envelope }])
      .catch((err: unknown) => this.#deps.logger.error({ err }, 'the DLQ_ALERT event could not be written'))
  }
}

/** The dead-letter record of a DLQ message (fields missing or mistyped get neutral values), and the original envelope if it was one. */
export function readDeadLetter(event: DeliveredEvent): { record: DeadLetter; original?: OnexEnvelopeV1 } {
  const p = event.envelope.payload
  const text = (v: unknown, fallback: string) => (typeof v === 'string' ? v : fallback)
  const record: DeadLetter = {
    original_topic: text(p['original_topic'], event.topic.replace(/\.dlq$/, '')),
    original_key: typeof p['original_key'] === 'string' ? p['original_key'] : null,
    original_data: text(p['original_data'], ''),
    failure_reason: text(p['failure_reason'], 'unknown'),
    failure_timestamp: text(p['failure_timestamp'], event.envelope.event_timestamp),
    retry_attempts: typeof p['retry_attempts'] === 'number' ? p['retry_attempts'] : 0,
  }
  try {
    return { record, original: parseEnvelope(record.original_data) }
  } catch {
    return { record }
  }
}

function deadLetterEntry(
  event: DeliveredEvent,
  record: DeadLetter,
  original: OnexEnvelopeV1 | undefined,
): NewEventLogEntry {
  const metadataGroup = event.envelope.metadata['consumer_group']
  return {
    event_id: original?.event_id ?? event.envelope.event_id,
    event_type: original?.event_type ?? 'UNREADABLE_EVENT',
    topic: record.original_topic,
    partition: event.partition,
    offset: event.offset,
    direction: 'dead_lettered',
    consumer_group: typeof metadataGroup === 'string' ? metadataGroup : null,
    correlation_id: original?.correlation_id ?? event.envelope.correlation_id ?? null,
    causation_id: original?.causation_id ?? null,
    session_id: original ? (sessionIdOf(original) ?? null) : null,
    source_node_id: original?.source_node_id ?? null,
    status: 'failed',
    error: record.failure_reason,
    attempt: record.retry_attempts,
    event_timestamp: original?.event_timestamp ?? null,
    payload: { ...record, dlq_topic: event.topic, dlq_event_id: event.envelope.event_id },
    recorded_at: recordTime(),
  }
}
