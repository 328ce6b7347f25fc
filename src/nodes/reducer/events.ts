import { randomUUID } from 'node:crypto'
import type { BridgeState, NamespaceDelta } from '../../core/aggregation/aggregate.ts'
import type { Transition } from '../../core/aggregation/batch-fsm.ts'
import type { PublishedTopics } from '../../core/contracts/parse.ts'
import { createEnvelope, type EnvelopeSource } from '../../core/events/envelope.ts'
import type { Environment } from '../../core/events/topics.ts'
import type { Clock } from '../../ports/clock.ts'
import type { OutgoingMessage } from '../../ports/event-bus.ts'

export interface ReducerEventSettings {
  source: EnvelopeSource
  environment: Environment
  /** The contract's published events (a contract without one of ours fails here, at start). */
  topics: PublishedTopics
}

export const reducerEvents = [
  'AGGREGATION_STARTED',
  'BATCH_PROCESSED',
  'AGGREGATION_COMPLETED',
  'AGGREGATION_FAILED',
  'STATE_PERSISTED',
  'STATE_COMMITTED',
] as const
type ReducerEvent = (typeof reducerEvents)[number]

/** What every event of one aggregation batch says about it. */
export interface BatchInfo {
  batchId: string
  /** Where its events came from: one partition, first and last offset. */
  topic: string
  partition: number
  firstOffset: bigint
  lastOffset: bigint
  itemCount: number
  /** Events of the batch already counted before (redelivered or replayed). */
  duplicates: number
}

const iso = (ms: number) => new Date(ms).toISOString()

/**
 * The reducer's events (its contract's published events), as outbox messages keyed by the batch id:
 * AGGREGATION_STARTED, BATCH_PROCESSED, AGGREGATION_COMPLETED, STATE_PERSISTED and STATE_COMMITTED
 * are written in the transaction that commits the batch (they exist exactly when it committed);
 * AGGREGATION_FAILED after that transaction rolled back.
 */
export class ReducerEvents {
  #source: EnvelopeSource
  #clock: Clock
  #topics: Record<ReducerEvent, string>

  constructor(settings: ReducerEventSettings, clock: Clock) {
    this.#source = settings.source
    this.#clock = clock
    this.#topics = settings.topics.topicNames(reducerEvents, settings.environment)
  }

  /** The committed batch's events, in the order of its FSM. */
  committed(
    batch: BatchInfo,
    deltas: readonly NamespaceDelta[],
    states: readonly BridgeState[],
    transitions: readonly Transition[],
    startedAt: number,
  ): OutgoingMessage[] {
    const common = { batch_id: batch.batchId, item_count: batch.itemCount }
    const source = {
      topic: batch.topic,
      partition: batch.partition,
      first_offset: Number(batch.firstOffset),
      last_offset: Number(batch.lastOffset),
    }
    return [
      this.#message('AGGREGATION_STARTED', batch, { ...common, source }),
      this.#message('BATCH_PROCESSED', batch, {
        ...common,
        duplicates_skipped: batch.duplicates,
        namespaces: deltas.map((d) => ({
          namespace: d.namespace,
          item_count: d.item_count,
          stamp_count: d.stamp_count,
          restamp_count: d.restamp_count,
          total_size_bytes: d.total_size_bytes,
          workflows_completed: d.workflows.completed,
          workflows_failed: d.workflows.failed,
          first_event_at: iso(d.first_at),
          last_event_at: iso(d.last_at),
        })),
      }),
      this.#message('AGGREGATION_COMPLETED', batch, {
        ...common,
        duration_ms: Math.max(0, this.#clock.now().getTime() - startedAt),
      }),
      this.#message('STATE_PERSISTED', batch, {
        ...common,
        states: states.map((s) => ({
          namespace: s.namespace,
          item_count: s.item_count,
          stamp_count: s.stamp_count,
          total_size_bytes: s.total_size_bytes,
          window_start: iso(s.window_start),
          window_end: iso(s.window_end),
        })),
      }),
      this.#message('STATE_COMMITTED', batch, {
        ...common,
        transitions: transitions.map((t) => ({ from: t.from, to: t.to, trigger: t.trigger, at: iso(t.at) })),
      }),
    ]
  }

  failed(batch: BatchInfo, state: string, reason: string): OutgoingMessage {
    return this.#message('AGGREGATION_FAILED', batch, {
      batch_id: batch.batchId,
      item_count: batch.itemCount,
      failed_in: state,
      reason,
    })
  }

  #message(eventType: ReducerEvent, batch: BatchInfo, payload: Record<string, unknown>): OutgoingMessage {
    const envelope = createEnvelope(
      this.#source,
      { eventType, payload, partitionKey: batch.batchId },
      { eventId: randomUUID(), now: this.#clock.now() },
    )
    return { topic: this.#topics[eventType], envelope }
  }
}
