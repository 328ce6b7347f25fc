import { setTimeout as sleep } from 'node:timers/promises'
import type { CommitOptionsPartition, Consumer } from '@platformatic/kafka'
import type { NodeLogger } from '../../../ports/logger.ts'
import { describe } from './errors.ts'

/** How long handled offsets may wait to be batched into one commit. */
const COMMIT_DELAY_MS = 20
const MAX_RETRY_DELAY_MS = 2_000
/** How often a commit waiting for the group to settle looks again. */
const REJOIN_POLL_MS = 50

/**
 * Commits the offsets a subscription has finished with (handled or dead-lettered), never any other.
 * One commit request at a time: offsets marked meanwhile are merged (highest per partition) into the
 * next, so a late answer can never move a partition's committed offset backwards. Offsets of partitions
 * this member no longer owns are dropped rather than committed (their new owner commits its own). A
 * failed commit (broker away) keeps its offsets for the next attempt, with backoff.
 */
export class OffsetCommitter {
  readonly #consumer: Consumer
  readonly #owns: (topic: string, partition: number) => boolean
  readonly #logger: NodeLogger
  readonly #pending = new Map<string, CommitOptionsPartition>()
  #timer: NodeJS.Timeout | undefined
  #inflight: Promise<void> | undefined
  #failures = 0

  constructor(consumer: Consumer, owns: (topic: string, partition: number) => boolean, logger: NodeLogger) {
    this.#consumer = consumer
    this.#owns = owns
    this.#logger = logger
  }

  /** `offset` is the next one to read: the handled message's offset + 1. */
  mark(topic: string, partition: number, offset: bigint, leaderEpoch: number): void {
    const key = `${topic}:${partition}`
    const current = this.#pending.get(key)
    if (current === undefined || current.offset < offset)
      this.#pending.set(key, { topic, partition, offset, leaderEpoch })
    this.#schedule(COMMIT_DELAY_MS)
  }

  #schedule(delayMs: number): void {
    if (this.#timer !== undefined || this.#inflight !== undefined) return
    this.#timer = setTimeout(() => {
      this.#timer = undefined
      this.#inflight = this.#flush().finally(() => {
        this.#inflight = undefined
        if (this.#pending.size > 0) this.#schedule(COMMIT_DELAY_MS)
      })
    }, delayMs)
  }

  async #flush(): Promise<void> {
    // Mid-(re)join, a commit fails with a rejoin error, and the client then joins again and sends the
    // same offsets under the new generation: partitions handed to another member in between would be
    // moved back behind what their new owner has committed (found redoing thousands of events after
    // a few rebalances), and each such JoinGroup may start yet another rebalance. Wait for the group.
    if (!this.#consumer.isActive()) {
      await sleep(REJOIN_POLL_MS)
      return
    }
    const offsets = [...this.#pending.values()].filter((o) => this.#owns(o.topic, o.partition))
    this.#pending.clear()
    if (offsets.length === 0) return
    try {
      await this.#consumer.commit({ offsets })
      this.#failures = 0
    } catch (error) {
      for (const o of offsets) {
        const key = `${o.topic}:${o.partition}`
        const newer = this.#pending.get(key)
        if (newer === undefined || newer.offset < o.offset) this.#pending.set(key, o)
      }
      this.#failures++
      if (this.#failures === 1 || this.#failures % 10 === 0)
        this.#logger.warn(
          { err: describe(error), failures: this.#failures },
          'kafka offset commit failed; retrying',
        )
      await sleep(Math.min(MAX_RETRY_DELAY_MS, 100 * 2 ** Math.min(this.#failures, 5)))
    }
  }

  /** Commits whatever is pending, waiting at most `timeoutMs`; true when nothing is left. */
  async drain(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs
    while (Date.now() < deadline) {
      if (this.#timer !== undefined) {
        clearTimeout(this.#timer)
        this.#timer = undefined
        this.#inflight = this.#flush().finally(() => {
          this.#inflight = undefined
        })
      }
      if (this.#inflight !== undefined) {
        await Promise.race([this.#inflight, sleep(Math.max(0, deadline - Date.now()))])
        continue
      }
      if (this.#pending.size === 0) return true
      this.#schedule(0)
    }
    return this.#pending.size === 0 && this.#inflight === undefined
  }

  /** Forgets pending offsets and timers (after drain, when the consumer goes away). */
  dispose(): void {
    clearTimeout(this.#timer)
    this.#timer = undefined
    this.#pending.clear()
  }
}
