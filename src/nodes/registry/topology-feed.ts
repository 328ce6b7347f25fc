import type { TopologyDiff } from '../../core/registry/payloads.ts'
import type { RegistryStore } from './store.ts'

export interface FeedSubscriber {
  /** Called with each diff after the subscriber's version, in order. */
  diff(diff: TopologyDiff): void
  /** The versions after the subscriber's are no longer kept: it must resync from a snapshot. */
  gone(oldestKept: number): void
}

/**
 * Live topology diffs for GET /topology/stream, on any registry instance (leader or follower): polls
 * topology_versions while someone listens, and delivers to each subscriber the diffs after its own
 * version. Reading the table (not the bus) keeps the stream gapless whichever instance wrote.
 */
export class TopologyFeed {
  #store: RegistryStore
  #pollMs: number
  #subs = new Map<FeedSubscriber, number>()
  #timer: NodeJS.Timeout | undefined
  #polling: Promise<void> | undefined

  constructor(store: RegistryStore, pollMs = 200) {
    this.#store = store
    this.#pollMs = pollMs
  }

  /** Delivers diffs after `since` from now on; returns the unsubscribe. */
  subscribe(since: number, subscriber: FeedSubscriber): () => void {
    this.#subs.set(subscriber, since)
    this.wake()
    return () => {
      this.#subs.delete(subscriber)
      if (this.#subs.size === 0) clearTimeout(this.#timer)
    }
  }

  /** Poll now (a version was written in this process). */
  wake(): void {
    this.#polling ??= this.#poll().finally(() => {
      this.#polling = undefined
      clearTimeout(this.#timer)
      if (this.#subs.size > 0) this.#timer = setTimeout(() => this.wake(), this.#pollMs).unref()
    })
  }

  async close(): Promise<void> {
    this.#subs.clear()
    clearTimeout(this.#timer)
    await this.#polling
  }

  async #poll(): Promise<void> {
    if (this.#subs.size === 0) return
    const from = Math.min(...this.#subs.values())
    let page: Awaited<ReturnType<RegistryStore['diffsSince']>>
    try {
      page = await this.#store.diffsSince(from, 1000)
    } catch {
      return // the database is away: the next poll retries
    }
    for (const [sub, version] of this.#subs) {
      if (version < page.latest && page.oldest !== null && version < page.oldest - 1) {
        this.#subs.delete(sub)
        sub.gone(page.oldest)
        continue
      }
      let at = version
      for (const d of page.diffs) {
        if (d.topology_version !== at + 1) continue
        sub.diff(d)
        at = d.topology_version
      }
      if (this.#subs.has(sub)) this.#subs.set(sub, at)
    }
  }
}
