import { closeSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs'
import { join } from 'node:path'
import { UnavailableError } from '../../../core/errors.ts'

/**
 * PGlite is one PostgreSQL backend inside this process: two processes on one data dir would corrupt
 * it. An exclusive lock file holding our pid keeps a second `omninode serve` (or `migrate`) out; a
 * lock left by a process that died (kill -9) is taken over.
 */
export function lockDataDir(dataDir: string): () => void {
  const file = join(dataDir, 'omninode.lock')
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(file, 'wx')
      writeSync(fd, String(process.pid))
      closeSync(fd)
      return () => rmSync(file, { force: true })
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
      const holder = Number.parseInt(readFileSync(file, 'utf8'), 10)
      if (Number.isInteger(holder) && holder !== process.pid && isAlive(holder)) {
        throw new UnavailableError(
          `the data dir ${dataDir} is in use by another omninode process (pid ${holder})`,
          {
            details: { pid: holder },
          },
        )
      }
      rmSync(file, { force: true }) // stale: its owner is gone
    }
  }
  throw new UnavailableError(`could not lock the data dir ${dataDir}`)
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}
