/**
 * Undo work for an interrupted bench. `finally` blocks do not run when Ctrl-C or SIGTERM ends the
 * process, so whatever a bench starts (a server process, a PostgreSQL cluster, a database) also
 * registers how to undo it here, and unregisters once its own `finally` has done so.
 */
const pending = new Set<() => Promise<unknown>>()
let installed = false

/** Runs `undo` if the bench is interrupted before the returned function is called. */
export function onInterrupt(undo: () => Promise<unknown>): () => void {
  if (!installed) {
    installed = true
    for (const signal of ['SIGINT', 'SIGTERM'] as const) {
      process.once(signal, () => {
        process.stderr.write(`${signal}: cleaning up before exiting\n`)
        void Promise.allSettled([...pending].map((f) => f())).then(() => process.exit(130))
      })
    }
  }
  pending.add(undo)
  return () => pending.delete(undo)
}
