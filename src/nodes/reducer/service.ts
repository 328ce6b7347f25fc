import { randomUUID } from 'node:crypto'
import { aggregate, applyDelta, type BridgeState } from '../../core/aggregation/aggregate.ts'
import { BatchFsm, type checkBatchFsm } from '../../core/aggregation/batch-fsm.ts'
import { type ReducerItem, toReducerItem } from '../../core/aggregation/items.ts'
import type { AggregationSettings } from '../../core/aggregation/settings.ts'
import { splitBatches } from '../../core/aggregation/windows.ts'
import { NotFoundError } from '../../core/errors.ts'
import type { Clock } from '../../ports/clock.ts'
import type { DeliveredEvent, OutgoingMessage } from '../../ports/event-bus.ts'
import type { NodeLogger } from '../../ports/logger.ts'
import type { Outbox } from '../../ports/outbox.ts'
import type { BatchInfo, ReducerEvents } from './events.ts'
import type { ReducerStore, StoredBridgeState, Watermark } from './store.ts'

export interface ReducerServiceDeps {
  store: ReducerStore
  outbox: Outbox
  events: ReducerEvents
  settings: AggregationSettings
  fsm: ReturnType<typeof checkBatchFsm>
  clock: Clock
  logger: NodeLogger
  /** The consumer group: dedup marks and watermarks are its own. */
  group: string
}

export interface BatchOutcome {
  /** Events newly counted. */
  counted: number
  /** Events already counted before (redelivered or replayed), skipped. */
  duplicates: number
  /** Aggregation batches committed. */
  batches: number
}

interface Batch {
  items: ReducerItem[]
  events: DeliveredEvent[]
  fsm: BatchFsm
  info: BatchInfo
}

/**
 * NodeBridgeReducer's logic: counts delivered events into bridge states, exactly once each.
 *
 * A delivery (consecutive events of one partition) is split into aggregation batches (closed by
 * batch_size or window_size_ms, core/aggregation/windows.ts), each going through the contract's FSM.
 * All of them commit in ONE transaction with: the dedup marks of their events (action_dedup: an event
 * id already marked is not counted again, whatever its offset: redelivery after a crash, a second
 * publication by the outbox relay, a replayed dead letter), the partition's watermark, the states,
 * and the batches' events (outbox). So a state never counts an event twice or loses one: either all of
 * it commits or none, and the bus redelivers what was not committed.
 *
 * The watermark records progress; it does not decide what is counted, because the in-process bus
 * starts its offsets again at 0 when the process restarts, so an offset alone cannot prove an event
 * was seen; its id can.
 */
export class ReducerService {
  readonly #deps: ReducerServiceDeps

  constructor(deps: ReducerServiceDeps) {
    this.#deps = deps
  }

  /**
   * Counts a delivery. Throws when a payload is invalid (the bus then delivers each event alone, and
   * dead-letters the bad one with the reason) or when the transaction fails (after AGGREGATION_FAILED).
   */
  async handleBatch(delivered: readonly DeliveredEvent[]): Promise<BatchOutcome> {
    if (delivered.length === 0) return { counted: 0, duplicates: 0, batches: 0 }
    const { store, outbox, events, settings, clock, group } = this.#deps
    const items = delivered.map((e) => toReducerItem(e.envelope))
    const startedAt = clock.now().getTime()
    const batches = this.#batches(items, delivered)
    const last = delivered[delivered.length - 1]!
    try {
      const outcome = await store.transaction(async (tx) => {
        const fresh = await store.markNew(
          tx,
          group,
          items.map((i) => i.eventId),
        )
        // before the states are locked: the partition's row is this lane's alone, so it need not
        // lengthen the time other lanes wait for the states (each id in `fresh` is counted once)
        await store.advanceWatermark(tx, group, last, fresh.size)
        const countedItems = (batch: Batch) =>
          // an id twice in one delivery is counted once: the first takes it out of `fresh`. The
          // envelope allows upper-case hex; PostgreSQL returns uuids in lower case
          batch.items.filter((i) => fresh.delete(i.eventId.toLowerCase()))
        const perBatch = batches.map((b) => {
          b.fsm.fire('window_closed', clock.now().getTime())
          const counted = countedItems(b)
          b.info.itemCount = counted.length
          b.info.duplicates = b.items.length - counted.length
          return { batch: b, deltas: [...aggregate(counted, settings).values()] }
        })
        const touched = new Set(perBatch.flatMap((p) => p.deltas.map((d) => d.namespace)))
        const states = new Map<string, BridgeState>(await store.lockStates(tx, [...touched]))
        let counted = 0
        for (const { batch, deltas } of perBatch) {
          batch.fsm.fire('aggregated', clock.now().getTime())
          counted += batch.info.itemCount
          for (const d of deltas) states.set(d.namespace, applyDelta(states.get(d.namespace), d, settings))
        }
        const announced = perBatch.filter((p) => p.batch.info.itemCount > 0) // all redelivered: nothing new
        await store.saveStates(
          tx,
          [...touched].map((ns) => states.get(ns)!),
          { id: batches[batches.length - 1]!.info.batchId, count: announced.length },
        )
        const messages: OutgoingMessage[] = []
        for (const { batch, deltas } of perBatch) {
          batch.fsm.fire('persisted', clock.now().getTime())
          if (batch.info.itemCount === 0) continue
          const after = deltas.map((d) => states.get(d.namespace)!)
          messages.push(...events.committed(batch.info, deltas, after, batch.fsm.history, startedAt))
        }
        if (messages.length > 0) await outbox.append(tx, messages)
        return { counted, duplicates: items.length - counted, batches: announced.length }
      })
      if (outcome.batches > 0) outbox.notify()
      return outcome
    } catch (err) {
      await this.#failed(batches, err)
      throw err
    }
  }

  async list(): Promise<{ states: StoredBridgeState[]; watermarks: Watermark[] }> {
    const [states, watermarks] = await Promise.all([
      this.#deps.store.list(),
      this.#deps.store.watermarks(this.#deps.group),
    ])
    return { states, watermarks }
  }

  /** Throws NotFoundError (404) when the namespace has no state yet. */
  async get(namespace: string): Promise<StoredBridgeState> {
    const state = await this.#deps.store.get(namespace)
    if (!state) throw new NotFoundError(`no bridge state for namespace ${namespace}`, { namespace })
    return state
  }

  #batches(items: ReducerItem[], delivered: readonly DeliveredEvent[]): Batch[] {
    const index = new Map(items.map((item, i) => [item, delivered[i]!]))
    return splitBatches(items, this.#deps.settings).map((batchItems) => {
      const batchEvents = batchItems.map((i) => index.get(i)!)
      const first = batchEvents[0]!
      return {
        items: batchItems,
        events: batchEvents,
        fsm: new BatchFsm(this.#deps.fsm),
        info: {
          batchId: randomUUID(),
          topic: first.topic,
          partition: first.partition,
          firstOffset: first.offset,
          lastOffset: batchEvents[batchEvents.length - 1]!.offset,
          itemCount: batchItems.length,
          duplicates: 0,
        },
      }
    })
  }

  /** The transaction rolled back: each batch moves to failed and says so (best effort). */
  async #failed(batches: Batch[], err: unknown): Promise<void> {
    const reason = err instanceof Error ? err.message : String(err)
    const messages: OutgoingMessage[] = []
    for (const b of batches) {
      // committed in memory means the commit itself failed: the batch was persisting
      const from = b.fsm.state === 'committed' ? 'persisting' : b.fsm.state
      if (b.fsm.can('fail')) b.fsm.fire('fail', this.#deps.clock.now().getTime())
      messages.push(this.#deps.events.failed(b.info, from, reason))
    }
    try {
      await this.#deps.outbox.write(messages)
    } catch (writeErr) {
      this.#deps.logger.warn({ err: writeErr }, 'AGGREGATION_FAILED not written')
    }
  }
}
