import { randomUUID } from 'node:crypto'
import { aggregate, applyDelta, type BridgeState } from '../../core/aggregation/aggregate.ts'
import { BatchFsm, type checkBatchFsm } from '../../core/aggregation/batch-fsm.ts'
import { type ReducerItem, toReducerItem } from '../../core/aggregation/items.ts'
import type { AggregationSettings } from '../../core/aggregation/settings.ts'
import { splitBatches } from '../../core/aggregation/windows.ts'
import { NotFoundError } from '../../core/errors.ts'
import { GroupCommit } from '../../core/group-commit.ts'
import type { Clock } from '../../ports/clock.ts'
import type { Queryable } from '../../ports/database.ts'
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
  /** Started afresh by each attempt to commit the batch. */
  fsm: BatchFsm
  info: BatchInfo
}

/** A delivery waiting for its turn in a group transaction. */
interface Delivery {
  items: ReducerItem[]
  /** Its last event: where its partition's watermark moves. */
  last: DeliveredEvent
  batches: Batch[]
  startedAt: number
}

const sum = <T>(xs: readonly T[], f: (x: T) => number) => xs.reduce((n, x) => n + f(x), 0)

/**
 * NodeBridgeReducer's logic: counts delivered events into bridge states, exactly once each.
 *
 * A delivery (consecutive events of one partition) is split into aggregation batches (closed by
 * batch_size or window_size_ms, core/aggregation/windows.ts), each going through the contract's FSM.
 * All of them commit in ONE transaction with: the dedup marks of their events (action_dedup: an event
 * id already marked is not counted again, whatever its offset: redelivery after a crash, a second
 * publication by the outbox relay, a replayed dead letter), the partition's watermark, the states,
 * and the batches' events (outbox). So a state never counts an event twice or loses one: either all of
 * it commits or none, and the bus redelivers what was not committed. The deliveries of other
 * partitions handed over meanwhile (the bus delivers each partition on its own) join that transaction
 * (a group commit): on PGlite the fixed cost of a transaction and its statements, paid once per
 * delivery, was most of the reducer's.
 *
 * The watermark records progress; it does not decide what is counted, because the in-process bus
 * starts its offsets again at 0 when the process restarts, so an offset alone cannot prove an event
 * was seen; its id can.
 */
export class ReducerService {
  readonly #deps: ReducerServiceDeps
  readonly #commits: GroupCommit<Delivery, BatchOutcome, Queryable>

  constructor(deps: ReducerServiceDeps) {
    this.#deps = deps
    this.#commits = new GroupCommit({
      transaction: (fn) => deps.store.transaction(fn),
      write: (tx, deliveries) => this.#write(tx, deliveries),
    })
  }

  /**
   * Counts a delivery. Throws when a payload is invalid (the bus then delivers each event alone, and
   * dead-letters the bad one with the reason) or when the transaction fails (after AGGREGATION_FAILED).
   * Deliveries of other partitions that arrive meanwhile commit in the same transaction (#commits).
   */
  async handleBatch(delivered: readonly DeliveredEvent[]): Promise<BatchOutcome> {
    if (delivered.length === 0) return { counted: 0, duplicates: 0, batches: 0 }
    const items = delivered.map((e) => toReducerItem(e.envelope))
    const delivery: Delivery = {
      items,
      last: delivered[delivered.length - 1]!,
      batches: this.#batches(items, delivered),
      startedAt: this.#deps.clock.now().getTime(),
    }
    try {
      const outcome = await this.#commits.submit(delivery)
      if (outcome.batches > 0) this.#deps.outbox.notify()
      return outcome
    } catch (err) {
      await this.#failed(delivery.batches, err)
      throw err
    }
  }

  /**
   * One transaction for a group of deliveries: the dedup marks of all their events, the partitions'
   * watermarks, the states (locked once) and the batches' events, each in one statement. Called again
   * with a delivery alone when the group's transaction failed, so each attempt starts its batches'
   * FSMs afresh.
   */
  async #write(tx: Queryable, deliveries: Delivery[]): Promise<BatchOutcome[]> {
    const { store, outbox, events, settings, clock, group } = this.#deps
    const fresh = await store.markNew(
      tx,
      group,
      deliveries.flatMap((d) => d.items.map((i) => i.eventId)),
    )
    const perDelivery = deliveries.map((d) =>
      d.batches.map((b) => {
        b.fsm = new BatchFsm(this.#deps.fsm)
        b.fsm.fire('window_closed', clock.now().getTime())
        // an id twice in the group is counted once: the first takes it out of `fresh`. The envelope
        // allows upper-case hex; PostgreSQL returns uuids in lower case
        const counted = b.items.filter((i) => fresh.delete(i.eventId.toLowerCase()))
        b.info.itemCount = counted.length
        b.info.duplicates = b.items.length - counted.length
        return { batch: b, deltas: [...aggregate(counted, settings).values()] }
      }),
    )
    // before the states are locked: a partition's row is its lane's alone, so it need not lengthen
    // the time other lanes wait for the states
    await store.advanceWatermarks(
      tx,
      group,
      deliveries.map((d, i) => ({
        at: d.last,
        counted: sum(perDelivery[i]!, (p) => p.batch.info.itemCount),
      })),
    )
    const touched = new Set(perDelivery.flat().flatMap((p) => p.deltas.map((d) => d.namespace)))
    const states = new Map<string, BridgeState>(await store.lockStates(tx, [...touched]))
    for (const { batch, deltas } of perDelivery.flat()) {
      batch.fsm.fire('aggregated', clock.now().getTime())
      for (const d of deltas) states.set(d.namespace, applyDelta(states.get(d.namespace), d, settings))
    }
    // all redelivered: nothing new to announce
    const announced = perDelivery.flat().filter((p) => p.batch.info.itemCount > 0)
    const lastBatches = deliveries[deliveries.length - 1]!.batches
    await store.saveStates(
      tx,
      [...touched].map((ns) => states.get(ns)!),
      { id: lastBatches[lastBatches.length - 1]!.info.batchId, count: announced.length },
    )
    const messages: OutgoingMessage[] = []
    const outcomes = deliveries.map((d, i) => {
      let counted = 0
      let batches = 0
      for (const { batch, deltas } of perDelivery[i]!) {
        batch.fsm.fire('persisted', clock.now().getTime())
        if (batch.info.itemCount === 0) continue
        counted += batch.info.itemCount
        batches++
        const after = deltas.map((delta) => states.get(delta.namespace)!)
        messages.push(...events.committed(batch.info, deltas, after, batch.fsm.history, d.startedAt))
      }
      return { counted, duplicates: d.items.length - counted, batches }
    })
    if (messages.length > 0) await outbox.append(tx, messages)
    return outcomes
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
