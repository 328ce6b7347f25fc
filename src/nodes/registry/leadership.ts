import { ConflictError } from '../../core/errors.ts'
import type { Database, Queryable } from '../../ports/database.ts'

/** A write by a leader that is no longer the leader (its epoch is stale): refused, never applied. */
export class StaleEpochError extends ConflictError {
  constructor(
    lease: string,
    epoch: number | undefined,
    current: { holder: string; epoch: number } | undefined,
  ) {
    super(
      `stale leader epoch ${epoch ?? 'none'} on lease ${lease}` +
        (current ? `: held by ${current.holder} at epoch ${current.epoch}` : ': no lease'),
      { details: { lease, epoch: epoch ?? null, current_epoch: current?.epoch ?? null } },
    )
  }
}

export interface LeadershipOptions {
  /** The lease's name (one leader per name). */
  name: string
  /** Who is asking; unique per process. */
  holder: string
  ttlMs: number
}

/**
 * Leader election on the `leases` table, with fencing epochs. Time is the database's (`now()`), so
 * registries on different hosts agree on when a lease ran out.
 *
 * - `tick()` renews the lease while held, else takes it over once expired; a takeover increments the
 *   epoch. Call it more often than ttlMs (a third of it).
 * - `fence(tx)` locks the lease row for the rest of `tx` and throws StaleEpochError unless this holder
 *   still holds it at its epoch and it has not expired: every leader write runs it first, so a deposed
 *   leader (paused, partitioned, or slow) can never write after a successor took over; the takeover
 *   itself waits for the row lock, so it cannot interleave with a write in flight.
 */
export class Leadership {
  #db: Database
  #opts: LeadershipOptions
  #epoch: number | undefined

  constructor(db: Database, options: LeadershipOptions) {
    this.#db = db
    this.#opts = options
  }

  /** The epoch while this holder believes it leads (fence() is the authority). */
  get epoch(): number | undefined {
    return this.#epoch
  }

  get isLeader(): boolean {
    return this.#epoch !== undefined
  }

  get holder(): string {
    return this.#opts.holder
  }

  /** Renews or acquires; resolves whether this holder leads now. */
  async tick(): Promise<boolean> {
    const { name, holder, ttlMs } = this.#opts
    if (this.#epoch !== undefined) {
      const { rows } = await this.#db.query<{ epoch: number }>(
        `UPDATE leases SET expires_at = now() + make_interval(secs => $4::double precision / 1000)
         WHERE name = $1 AND holder = $2 AND epoch = $3 AND expires_at > now() RETURNING epoch`,
        [name, holder, this.#epoch, ttlMs],
      )
      if (rows.length === 1) return true
      this.#epoch = undefined
    }
    const { rows } = await this.#db.query<{ epoch: number }>(
      `INSERT INTO leases (name, holder, epoch, expires_at)
       VALUES ($1, $2, 1, now() + make_interval(secs => $3::double precision / 1000))
       ON CONFLICT (name) DO UPDATE SET holder = EXCLUDED.holder, epoch = leases.epoch + 1,
         acquired_at = now(), expires_at = EXCLUDED.expires_at
       WHERE leases.expires_at <= now()
       RETURNING epoch`,
      [name, holder, ttlMs],
    )
    this.#epoch = rows[0]?.epoch
    return this.#epoch !== undefined
  }

  /** Throws StaleEpochError unless this holder leads at its epoch; locks the lease until `tx` ends. */
  async fence(tx: Queryable, epoch = this.#epoch): Promise<number> {
    const { name, holder } = this.#opts
    const { rows } = await tx.query<{ holder: string; epoch: number; valid: boolean }>(
      'SELECT holder, epoch, expires_at > now() AS valid FROM leases WHERE name = $1 FOR UPDATE',
      [name],
    )
    const lease = rows[0]
    if (epoch === undefined || !lease || lease.holder !== holder || lease.epoch !== epoch || !lease.valid) {
      if (lease && epoch !== undefined && (lease.holder !== holder || lease.epoch !== epoch))
        this.#epoch = undefined
      throw new StaleEpochError(name, epoch, lease)
    }
    return epoch
  }

  /** Gives the lease up (a clean stop): a follower takes over at its next tick instead of after the TTL. */
  async release(): Promise<void> {
    if (this.#epoch === undefined) return
    const { name, holder } = this.#opts
    await this.#db.query(
      'UPDATE leases SET expires_at = now() WHERE name = $1 AND holder = $2 AND epoch = $3',
      [name, holder, this.#epoch],
    )
    this.#epoch = undefined
  }
}
