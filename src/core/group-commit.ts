/** `Tx` is what a transaction hands its body (the Database port's Queryable, for the nodes). */
export interface GroupCommitOptions<T, R, Tx> {
  /** One transaction for many: writes every item with `tx` and returns each one's result, in order. */
  write: (tx: Tx, items: T[]) => Promise<R[]>
  transaction: <X>(fn: (tx: Tx) => Promise<X>) => Promise<X>
  /** After each commit (wakes the outbox relay once for the whole group). */
  committed?: () => void
  /** @default 256 */
  maxItems?: number
}

interface Waiting<T, R> {
  item: T
  resolve: (r: R) => void
  reject: (err: unknown) => void
}

/**
 * Group commit: the writes that concurrent callers (workflows, reducer deliveries) ask for at about
 * the same time go to the database in one transaction, with one multi-row statement per table,
 * instead of one transaction each. Each item is still all or nothing: if the group's transaction fails, every item is written
 * again alone, so one bad item fails only itself. An item's promise settles once its write committed
 * (or finally failed).
 *
 * A group forms by itself: items submitted while a write runs wait and go together in the next one,
 * which takes them when its transaction has begun (so also those that came while it waited for the
 * connection). A transaction body that runs twice (a retried transaction) writes the same group.
 * On PGlite (one connection, every transaction in turn, a WAL flush per commit) this is what makes
 * the writes of many callers cost about what the writes of one do.
 */
export class GroupCommit<T, R, Tx> {
  #options: GroupCommitOptions<T, R, Tx>
  #queue: Waiting<T, R>[] = []
  #running = false

  constructor(options: GroupCommitOptions<T, R, Tx>) {
    this.#options = options
  }

  submit(item: T): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.#queue.push({ item, resolve, reject })
      if (!this.#running) {
        this.#running = true
        // the items submitted in this same turn of the event loop join the first group
        setImmediate(() => void this.#drain())
      }
    })
  }

  async #drain(): Promise<void> {
    try {
      for (let first = true; this.#queue.length > 0; first = false) {
        // PGlite answers within microtasks: without a turn of the event loop between groups, a busy
        // queue would starve every socket (OnexTree's answers, HTTP) for as long as it stays busy
        if (!first) await new Promise((resolve) => setImmediate(resolve))
        // the group is taken when the transaction body starts, not before: while the transaction
        // waits for its connection (on PGlite, behind every other transaction) more items arrive,
        // and they go in it rather than in one more transaction after it
        let group: Waiting<T, R>[] | undefined
        const take = () => {
          group ??= this.#queue.splice(0, this.#options.maxItems ?? 256)
          return group
        }
        try {
          const results = await this.#options.transaction((tx) =>
            this.#options.write(
              tx,
              take().map((g) => g.item),
            ),
          )
          this.#options.committed?.()
          for (const [i, g] of take().entries()) g.resolve(results[i]!)
        } catch (err) {
          // the transaction failed before its body ran (no connection): the items it would have
          // taken fail as a failed group does
          const failed = take()
          if (failed.length === 1) {
            failed[0]!.reject(err)
            continue
          }
          // somebody's item failed the group: each alone, so that only that one fails
          await Promise.all(
            failed.map(async (g) => {
              try {
                const [result] = await this.#options.transaction((tx) => this.#options.write(tx, [g.item]))
                this.#options.committed?.()
                g.resolve(result!)
              } catch (alone) {
                g.reject(alone)
              }
            }),
          )
        }
      }
    } finally {
      this.#running = false
    }
  }
}
