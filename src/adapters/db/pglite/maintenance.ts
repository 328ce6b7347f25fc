import type { PGlite } from '@electric-sql/pglite'

/**
 * PGlite runs PostgreSQL in single-user mode, where no autovacuum launcher runs: nothing would ever
 * analyze or vacuum its tables. This does, from timers in this process, by autovacuum's rules where
 * they fit one thread.
 *
 * - ANALYZE, autovacuum's rule. A never-analyzed table is planned with default estimates (a handful of
 *   rows), and with those a namespace page read and sorted the whole namespace (a bitmap heap scan)
 *   instead of the first 51 entries of its index: 2 to 5 ms per page at 2,000 rows, growing with the
 *   namespace. A table is due when the rows changed since its last analyze exceed
 *   autovacuum_analyze_threshold plus autovacuum_analyze_scale_factor of its live rows. ANALYZE
 *   samples at most 30,000 rows.
 * - VACUUM, of the tables with more dead rows than live ones (plus autovacuum_vacuum_threshold), and
 *   of those whose transaction ids are older than autovacuum_freeze_max_age (the catalogs included).
 *   - Why: the space of deleted or updated rows is used again only once a vacuum has recorded it. The
 *     event outbox deletes every row milliseconds after its insert: unvacuumed, it grew by a page per
 *     few events, and each page was written on extension and again when shared_buffers evicted it
 *     (55 MB of outbox pages in 20 s of the workflow bench, for a few hundred live rows), and the
 *     bench ran slower the longer it ran. And without the freezing that vacuum does, PostgreSQL stops
 *     taking writes before its transaction ids wrap around (2 billion: two months at 400 commits/s).
 *   - Why not autovacuum's 20% (autovacuum_vacuum_scale_factor): a vacuum here stops this thread, and
 *     it reads every index of the table whole. At 20% dead, workflow_executions (one update per
 *     workflow, five indexes) was vacuumed every 2 s of load, for 20 to 90 ms each time, which took
 *     the workflows' p95 with it. A table that is mostly dead rows is small for what it frees; one at
 *     most half dead is at most twice its size.
 *   - Append-only tables are not vacuumed for their inserts (autovacuum_vacuum_insert_threshold): the
 *     same stalls, for the visibility map's sake only.
 *
 * Each round holds PGlite's one connection while it runs (PGlite queues it behind the transaction in
 * flight): the check is one catalog query of under 1 ms, a vacuum of the outbox a few ms.
 */
export interface MaintenanceOptions {
  /** How often the tables due for new planner statistics are analyzed (0: never). */
  analyzeIntervalMs: number
  /** How often the tables due for a vacuum are vacuumed (0: never). */
  vacuumIntervalMs: number
}

const setting = (name: string) => `current_setting('autovacuum_${name}')::float8 AS ${name}`

export const analyzeDueSql = `SELECT format('%I.%I', schemaname, relname) AS name
  FROM pg_stat_user_tables, (SELECT ${setting('analyze_threshold')}, ${setting('analyze_scale_factor')}) s
  WHERE n_mod_since_analyze > analyze_threshold + analyze_scale_factor * n_live_tup`

export const vacuumDueSql = `SELECT format('%I.%I', n.nspname, c.relname) AS name
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace,
    (SELECT ${setting('vacuum_threshold')}, ${setting('freeze_max_age')}, ${setting('multixact_freeze_max_age')}) s
  WHERE c.relkind IN ('r', 'm') AND c.relpersistence <> 't' AND n.nspname <> 'pg_toast' AND (
    pg_stat_get_dead_tuples(c.oid) > vacuum_threshold + pg_stat_get_live_tuples(c.oid)
    OR age(c.relfrozenxid) > freeze_max_age OR mxid_age(c.relminmxid) > multixact_freeze_max_age)`

/** autovacuum for one PGlite: a timer per kind of round, one round at a time. */
export class Maintenance {
  #pg: PGlite
  #timers: NodeJS.Timeout[] = []
  #running: Promise<void> | undefined
  #stopped = false

  constructor(pg: PGlite, options: MaintenanceOptions) {
    this.#pg = pg
    this.#every(options.analyzeIntervalMs, analyzeDueSql, 'ANALYZE')
    this.#every(options.vacuumIntervalMs, vacuumDueSql, 'VACUUM')
  }

  /** No round starts after this; resolves once the one running (if any) has ended. */
  async stop(): Promise<void> {
    this.#stopped = true
    for (const timer of this.#timers.splice(0)) clearInterval(timer)
    await this.#running
  }

  #every(intervalMs: number, dueSql: string, command: 'ANALYZE' | 'VACUUM'): void {
    if (intervalMs <= 0) return
    const timer = setInterval(() => {
      // a round still running (the other kind, or a long one) is not queued behind: the next tick
      // looks again. A failed round leaves the tables as they were; the next one tries again.
      this.#running ??= this.#round(dueSql, command)
        .catch(() => {})
        .finally(() => {
          this.#running = undefined
        })
    }, intervalMs).unref()
    this.#timers.push(timer)
  }

  async #round(dueSql: string, command: 'ANALYZE' | 'VACUUM'): Promise<void> {
    if (this.#stopped) return
    const { rows } = await this.#pg.query<{ name: string }>(dueSql)
    // one statement (VACUUM refuses to run in the transaction block that several would make)
    if (rows.length && !this.#stopped) await this.#pg.exec(`${command} ${rows.map((r) => r.name).join(', ')}`)
  }
}
