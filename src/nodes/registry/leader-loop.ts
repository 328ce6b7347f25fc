import { logRetry, type NodeLogger } from '../../ports/logger.ts'
import { type Leadership, StaleEpochError } from './leadership.ts'
import type { RegistryService } from './service.ts'

export interface LeaderLoopOptions {
  /** Leader lease; renewed every third of it. */
  leaseMs: number
  /** How often the leader versions queued changes (sooner when woken). @default 100 */
  versionEveryMs?: number
  /** How often the leader looks for expired node leases. @default 500 */
  expireEveryMs?: number
  /** Changes per topology version at most. @default 500 */
  batchSize?: number
  /** A topology version was written (the live feed wakes). */
  onVersion?: (version: number) => void
  /** Leadership was gained or lost. */
  onLeadership?: (leader: boolean, epoch: number | undefined) => void
}

/**
 * The registry's background work, on every registry instance: keep trying for leadership; while
 * leader, version queued changes and expire node leases. Errors are logged and the next pass retries
 * (a stale epoch simply ends leadership).
 */
export class LeaderLoop {
  #leadership: Leadership
  #service: RegistryService
  #logger: NodeLogger
  #opts: Required<Omit<LeaderLoopOptions, 'onVersion' | 'onLeadership'>> &
    Pick<LeaderLoopOptions, 'onVersion' | 'onLeadership'>
  #timer: NodeJS.Timeout | undefined
  #running: Promise<void> | undefined
  #stopped = false
  #nextLeaseAt = 0
  #nextExpiryAt = 0
  #wasLeader = false
  #passFailed: (err: unknown) => void
  #renewFailed: (err: unknown) => void

  constructor(
    leadership: Leadership,
    service: RegistryService,
    logger: NodeLogger,
    options: LeaderLoopOptions,
  ) {
    this.#leadership = leadership
    this.#service = service
    this.#logger = logger
    this.#passFailed = logRetry(logger, 'registry leader pass failed; will retry')
    this.#renewFailed = logRetry(logger, 'registry leadership not renewed; will retry')
    this.#opts = { versionEveryMs: 100, expireEveryMs: 500, batchSize: 500, ...options }
  }

  start(): void {
    this.#stopped = false
    this.#schedule(0)
  }

  /** Run a pass soon (a change was queued in this process). */
  wake(): void {
    if (this.#stopped || this.#running) return
    this.#schedule(5)
  }

  async stop(): Promise<void> {
    this.#stopped = true
    clearTimeout(this.#timer)
    await this.#running
    await this.#leadership.release().catch(() => {})
    this.#report('registry leadership released')
  }

  /**
   * Stops without giving the lease up, as a crashed process would (the bench measures failover with
   * it): the others wait for the lease to run out.
   */
  async halt(): Promise<void> {
    this.#stopped = true
    clearTimeout(this.#timer)
    await this.#running
  }

  /** One pass now (tests and the bench drive it too). */
  pass(): Promise<void> {
    this.#running ??= this.#pass().finally(() => {
      this.#running = undefined
    })
    return this.#running
  }

  #schedule(ms: number): void {
    clearTimeout(this.#timer)
    this.#timer = setTimeout(() => {
      void this.pass().finally(() => {
        if (!this.#stopped) this.#schedule(this.#opts.versionEveryMs)
      })
    }, ms)
    this.#timer.unref()
  }

  async #pass(): Promise<void> {
    const now = Date.now()
    await this.#renew()
    if (!this.#leadership.isLeader || this.#stopped) return
    try {
      if (now >= this.#nextExpiryAt) {
        this.#nextExpiryAt = now + this.#opts.expireEveryMs
        const expired = await this.#service.expireLeases(this.#opts.batchSize)
        if (expired) this.#logger.info({ expired }, 'node leases expired')
      }
      for (;;) {
        const diff = await this.#service.versionChanges(this.#opts.batchSize)
        if (!diff) break
        this.#opts.onVersion?.(diff.topology_version)
        if (diff.changes.length < this.#opts.batchSize || this.#stopped) break
        // a long backlog takes many versions: the lease is renewed on time meanwhile
        await this.#renew()
        if (!this.#leadership.isLeader) break
      }
    } catch (err) {
      // the lease is not ours at this epoch any more (ours ran out during an outage or a pause, or
      // another took it): ask again at the next pass, not a third of a lease later, all the while
      // versioning nothing
      if (err instanceof StaleEpochError) this.#nextLeaseAt = 0
      this.#passFailed(err)
    }
    this.#report()
  }

  /** Renews (or tries to take) the leader lease when a third of it has passed since the last time. */
  async #renew(): Promise<void> {
    const now = Date.now()
    try {
      if (now >= this.#nextLeaseAt) {
        this.#nextLeaseAt = now + this.#opts.leaseMs / 3
        await this.#leadership.tick()
      }
    } catch (err) {
      this.#renewFailed(err)
    }
    this.#report()
  }

  /** Logs a change of leadership: acquired, else `ended` (lost to another, or released at stop). */
  #report(ended = 'registry leadership lost'): void {
    const leader = this.#leadership.isLeader
    if (leader === this.#wasLeader) return
    this.#wasLeader = leader
    this.#logger.info(
      { leader, epoch: this.#leadership.epoch ?? null, holder: this.#leadership.holder },
      leader ? 'registry leadership acquired' : ended,
    )
    this.#opts.onLeadership?.(leader, this.#leadership.epoch)
  }
}
