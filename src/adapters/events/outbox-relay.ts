import { ExponentialBackoff, type IBackoff } from 'cockatiel'
import type { OnexEnvelopeV1 } from '../../core/events/envelope.ts'
import type { Database, Queryable } from '../../ports/database.ts'
import type { EventBus, OutgoingMessage } from '../../ports/event-bus.ts'
import type { OutboxEnvelopes } from './outbox-envelopes.ts'
import { recordTime } from './record-time.ts'

export interface OutboxRelayOptions {
  /** Rows published per bus call. @default 500 */
  batchSize?: number
  /** Looks for rows (left by a previous process, or written by another one) at least this often. @default 1000 */
  pollIntervalMs?: number
  /** First wait after a failed publish; grows exponentially (with jitter). @default 100 */
  initialBackoffMs?: number
  /** @default 30000 */
  maxBackoffMs?: number
  /** PostgreSQL: another relay holds the outbox; look again after this. @default 250 */
  lockRetryMs?: number
  /** A wake-up starts a pass after this, so that events committed meanwhile share it. @default 5 */
  wakeDelayMs?: number
  /** A pass failed (bus or database); the same rows are retried after `retryInMs`. */
  onError?: (err: unknown, state: { failures: number; retryInMs: number }) => void
  /** The pass after `failures` failed ones succeeded. */
  onRecovered?: (failures: number) => void
  /** These messages were published (and left the outbox). */
  onPublished?: (messages: readonly OutgoingMessage[]) => void
  /**
   * The messages this process's outbox wrote, by row id (the SqlOutbox's `envelopes`): those are
   * published as they are, and only the others are read from the table.
   */
  envelopes?: OutboxEnvelopes
}

export type RelayPass = { published: number } | 'locked'

/** Any constant: the key of the advisory lock that makes one relay at a time work on PostgreSQL. */
const relayLockKey = 0x6f6e7862 // 'onxb'

const selectUnsent = 'SELECT id, topic, envelope FROM event_outbox ORDER BY id LIMIT $1'
const selectUnsentIds = 'SELECT id FROM event_outbox ORDER BY id LIMIT $1'
const selectByIds = 'SELECT id, topic, envelope FROM event_outbox WHERE id = ANY($1::bigint[])'

type Row = { id: number | string; topic: string; envelope: OnexEnvelopeV1 }

/**
 * Deletes the sent rows and logs them as published, in one statement: an event leaves the outbox
 * exactly when it enters the event log. recorded_at ($2) is when the relay handed it to the bus (so
 * it sorts before what consumers record about it), duration_ms its time in the outbox until then.
 */
const deleteAndLog = `WITH sent AS (
    DELETE FROM event_outbox WHERE id = ANY($1::bigint[])
    RETURNING id, topic, envelope, created_at, $2::timestamptz AS sent_at
  )
  INSERT INTO event_logs (event_id, event_type, topic, direction, correlation_id, causation_id, session_id,
    source_node_id, status, duration_ms, event_timestamp, payload, recorded_at)
  SELECT (envelope ->> 'event_id')::uuid, envelope ->> 'event_type', topic, 'published',
    (envelope ->> 'correlation_id')::uuid, (envelope ->> 'causation_id')::uuid,
    COALESCE(envelope #>> '{metadata,session_id}', envelope #>> '{payload,session_id}'),
    envelope ->> 'source_node_id', 'ok',
    GREATEST(0, extract(epoch FROM sent_at - created_at) * 1000),
    (envelope ->> 'event_timestamp')::timestamptz, COALESCE(envelope -> 'payload', '{}'::jsonb), sent_at
  FROM sent ORDER BY id`

/**
 * The outbox relay: publishes `event_outbox` rows on the bus in id order, then deletes them (and logs
 * them as published).
 *
 * - Order: a pass takes the oldest rows, publishes them with one `publishBatch`, then deletes them;
 *   a failed pass deletes nothing, so the next pass (after a backoff) publishes the same rows
 *   again, first. Nothing is skipped or reordered; a retried batch may publish a row twice (the bus
 *   is at least once anyway, and consumers deduplicate by event_id).
 * - Durability: a row is deleted only once its event is durable on the bus. On Kafka that is the
 *   broker's ack; the in-process bus keeps nothing, so there the publish waits until the consumers
 *   have committed the events (`untilConsumed`), and a process killed meanwhile publishes them again
 *   at its next start.
 * - Latency: `wake()` (the outbox's notify, after a local commit) starts a pass within `wakeDelayMs`
 *   (the delay gathers the events of concurrent requests into one batch: under load a pass per
 *   event would cost several times more per event); a poll every `pollIntervalMs` finds rows
 *   written by other processes or left by a previous one.
 * - Several relays (processes) on one PostgreSQL: each pass holds a transaction-scoped advisory
 *   lock, so one relay works at a time and the order holds across processes. (SELECT … FOR UPDATE
 *   SKIP LOCKED alone would let a second relay publish rows 501–1000 while the first still works on
 *   1–500.) PGlite has one process, hence one relay, and a flag in place of the lock: its pass
 *   holds no transaction across the publish, which would block every other query of the single
 *   connection meanwhile.
 */
export class OutboxRelay {
  #db: Database
  #bus: EventBus
  #opts: Required<Pick<OutboxRelayOptions, 'batchSize' | 'pollIntervalMs' | 'lockRetryMs' | 'wakeDelayMs'>>
  #on: Pick<OutboxRelayOptions, 'onError' | 'onRecovered' | 'onPublished'>
  #envelopes: OutboxEnvelopes | undefined
  #backoff: ExponentialBackoff<unknown>
  #running: Promise<void> | undefined
  #stopping: Promise<void> | undefined
  /** Failed passes in a row, 0 once one succeeds. */
  #failures = 0
  #stopped = true
  /** PGlite: a pass of this relay is in flight (what the advisory lock is between processes on PostgreSQL). */
  #passing = false
  #woken = false
  #interrupt: (() => void) | undefined

  constructor(db: Database, bus: EventBus, options: OutboxRelayOptions = {}) {
    this.#db = db
    this.#bus = bus
    this.#opts = {
      batchSize: options.batchSize ?? 500,
      pollIntervalMs: options.pollIntervalMs ?? 1000,
      lockRetryMs: options.lockRetryMs ?? 250,
      wakeDelayMs: options.wakeDelayMs ?? 5,
    }
    this.#on = options
    this.#envelopes = options.envelopes
    this.#backoff = new ExponentialBackoff({
      initialDelay: options.initialBackoffMs ?? 100,
      maxDelay: options.maxBackoffMs ?? 30_000,
    })
  }

  start(): void {
    if (!this.#stopped) return
    this.#stopped = false
    this.#stopping = undefined
    this.#running = this.#run()
  }

  /** A pass soon (within wakeDelayMs, or after the one running); a backoff after a failure is not cut short. */
  wake(): void {
    this.#woken = true
    this.#interrupt?.()
  }

  /**
   * Stops after the pass in flight and, unless the bus was failing, one last pass: what the last
   * requests committed (and a stopping node's tombstone) goes out while the consumers still run. Rows
   * not published then stay in the outbox for the next start. Idempotent.
   */
  stop(): Promise<void> {
    this.#stopping ??= (async () => {
      this.#stopped = true
      this.#interrupt?.()
      if (this.#running === undefined) return
      await this.#running
      if (this.#failures > 0) return
      await this.relayOnce().catch((err: unknown) => this.#on.onError?.(err, { failures: 1, retryInMs: 0 }))
    })()
    return this.#stopping
  }

  /**
   * One pass: publishes up to batchSize of the oldest unsent rows, or 'locked' while another pass
   * works on the outbox. Throws what the bus or database threw.
   */
  relayOnce(): Promise<RelayPass> {
    if (this.#db.dialect !== 'postgres') return this.#exclusivePass()
    return this.#db.transaction(async (tx) => {
      const { rows } = await tx.query<{ locked: boolean }>('SELECT pg_try_advisory_xact_lock($1) AS locked', [
        relayLockKey,
      ])
      return rows[0]?.locked ? this.#pass(tx) : 'locked'
    })
  }

  /**
   * PGlite: one process, so the lock is a flag. The relay's loop and a flush (a clean stop's
   * tombstones) can ask at once; two overlapping passes would both read the same rows before either
   * deleted them, and publish every event twice.
   */
  async #exclusivePass(): Promise<RelayPass> {
    if (this.#passing) return 'locked'
    this.#passing = true
    try {
      return await this.#pass(this.#db)
    } finally {
      this.#passing = false
    }
  }

  async #pass(q: Queryable): Promise<{ published: number }> {
    const unsent = await this.#oldestUnsent(q)
    if (unsent.length === 0) return { published: 0 }
    const ids = unsent.map((u) => u.id)
    const messages = unsent.map((u) => u.message)
    const handedAt = recordTime()
    // untilConsumed: on the in-process bus the events exist only in memory until consumers commit them
    await this.#bus.publishBatch(messages, { untilConsumed: true })
    await q.query(deleteAndLog, [ids, handedAt])
    this.#envelopes?.forget(ids)
    this.#on.onPublished?.(messages)
    return { published: ids.length }
  }

  /**
   * Up to batchSize of the oldest unsent rows, in id order, each with its message: the messages this
   * process's outbox remembers are not read back from the table.
   */
  async #oldestUnsent(q: Queryable): Promise<Array<{ id: number | string; message: OutgoingMessage }>> {
    const envelopes = this.#envelopes
    if (!envelopes) {
      const { rows } = await q.query<Row>(selectUnsent, [this.#opts.batchSize])
      return rows.map((r) => ({ id: r.id, message: { topic: r.topic, envelope: r.envelope } }))
    }
    const { rows } = await q.query<{ id: number | string }>(selectUnsentIds, [this.#opts.batchSize])
    const remembered = rows.map((r) => envelopes.get(r.id))
    const missing = rows.filter((_, i) => !remembered[i]).map((r) => r.id)
    const read = new Map<string, OutgoingMessage>()
    if (missing.length) {
      const { rows: found } = await q.query<Row>(selectByIds, [missing])
      for (const r of found) read.set(String(r.id), { topic: r.topic, envelope: r.envelope })
    }
    // a row gone between the two reads (only a pass holding the outbox deletes rows) has no message
    return rows.flatMap(({ id }, i) => {
      const message = remembered[i] ?? read.get(String(id))
      return message ? [{ id, message }] : []
    })
  }

  async #run(): Promise<void> {
    let backoff: IBackoff<unknown> | undefined
    this.#failures = 0
    while (!this.#stopped) {
      this.#woken = false
      let pass: RelayPass
      try {
        pass = await this.relayOnce()
      } catch (err) {
        const failures = ++this.#failures
        backoff = backoff ? backoff.next(undefined) : this.#backoff.next()
        this.#on.onError?.(err, { failures, retryInMs: Math.round(backoff.duration) })
        await this.#sleep(backoff.duration, false)
        continue
      }
      if (this.#failures) this.#on.onRecovered?.(this.#failures)
      this.#failures = 0
      backoff = undefined
      if (pass === 'locked') await this.#sleep(this.#opts.lockRetryMs, true)
      else if (pass.published === this.#opts.batchSize) continue
      else if (this.#woken) await this.#sleep(this.#opts.wakeDelayMs, false)
      else await this.#sleep(this.#opts.pollIntervalMs, true)
    }
  }

  /** Waits `ms`; stop() ends the wait at once, wake() (when `wakeable`) within wakeDelayMs. */
  #sleep(ms: number, wakeable: boolean): Promise<void> {
    if (this.#stopped) return Promise.resolve()
    return new Promise((resolve) => {
      let shortened = false
      const done = () => {
        clearTimeout(timer)
        this.#interrupt = undefined
        resolve()
      }
      let timer = setTimeout(done, ms).unref()
      this.#interrupt = () => {
        if (this.#stopped) done()
        else if (wakeable && !shortened) {
          shortened = true
          clearTimeout(timer)
          timer = setTimeout(done, this.#opts.wakeDelayMs).unref()
        }
      }
    })
  }
}
