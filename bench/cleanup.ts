/**
 * Undo work for an interrupted bench. `finally` blocks do not run when Ctrl-C or SIGTERM ends the
 * process, nor when the reader of its output goes away (`npm run bench -- x | head` once head has
 * exited: the next report line fails with EPIPE, which would crash the process), so whatever a bench
 * starts (a server process, a PostgreSQL cluster, a database) also registers how to undo it here, and
 * unregisters once its own `finally` has done so.
 */
const pending = new Set<() => Promise<unknown>>()
let installed = false
let interrupted = false

function interrupt(reason: string, exitCode: number): void {
  if (interrupted) return
  interrupted = true
  process.stderr.write(`${reason}: cleaning up before exiting\n`)
  void Promise.allSettled([...pending].map((f) => f())).then(() => process.exit(exitCode))
}

/** Runs `undo` if the bench is interrupted before the returned function is called. */
export function onInterrupt(undo: () => Promise<unknown>): () => void {
  if (!installed) {
    installed = true
    for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => interrupt(signal, 130))
    process.stdout.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code !== 'EPIPE') throw err
      // 141: what a shell reports for a process ended by SIGPIPE
      interrupt('stdout closed (EPIPE)', 141)
    })
  }
  pending.add(undo)
  return () => pending.delete(undo)
}
