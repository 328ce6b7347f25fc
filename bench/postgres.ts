/**
 * PostgreSQL for the benches: a throwaway database `omninode_bench_<random>`, dropped afterwards, on the
 * server of BENCH_DATABASE_URL when it is set, else on the repository's own cluster
 * (scripts/infra/postgres.sh). That cluster is started here and stopped again afterwards unless it was
 * already running, as scripts/test-all.sh does.
 */
import { execFile } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { fileURLToPath } from 'node:url'
import { openPostgresDatabase } from '../src/adapters/db/postgres/postgres-database.ts'
import type { Database } from '../src/ports/database.ts'
import { onInterrupt } from './cleanup.ts'

const script = fileURLToPath(new URL('../scripts/infra/postgres.sh', import.meta.url))

export interface BenchPostgres {
  /** URL of the throwaway database. */
  url: string
  /** Where the server came from, for the report. */
  source: 'BENCH_DATABASE_URL' | 'scripts/infra/postgres.sh'
  /** Drops the database, and stops the cluster if it was started here. Idempotent. */
  close(): Promise<void>
}

/** Throws when PostgreSQL cannot be had; callers report the figures as skipped. */
export async function openBenchPostgres(): Promise<BenchPostgres> {
  const given = process.env['BENCH_DATABASE_URL']
  let stopCluster = false
  let admin: Database | undefined
  let name: string | undefined
  let closing: Promise<void> | undefined
  const close = () => {
    closing ??= (async () => {
      try {
        if (admin && name) await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
      } finally {
        await admin?.close()
        if (stopCluster) await postgresSh('stop')
      }
    })()
    return closing
  }
  const forget = onInterrupt(close)
  try {
    let serverUrl: string
    if (given) {
      serverUrl = given
    } else {
      const wasRunning = await postgresSh('status').then(
        () => true,
        () => false,
      )
      // set before starting: a start that fails halfway (after initdb) is cleaned up too
      stopCluster = !wasRunning
      serverUrl = (await postgresSh('start')).trim()
    }
    admin = await openPostgresDatabase({ url: serverUrl, poolSize: 1 })
    name = `omninode_bench_${randomBytes(6).toString('hex')}`
    await admin.query(`CREATE DATABASE ${name}`)
    const url = new URL(serverUrl)
    url.pathname = `/${name}`
    return {
      url: url.toString(),
      source: given ? 'BENCH_DATABASE_URL' : 'scripts/infra/postgres.sh',
      close: () => close().finally(forget),
    }
  } catch (err) {
    await close().catch(() => {})
    forget()
    throw err
  }
}

/** Runs scripts/infra/postgres.sh; resolves with its stdout, rejects with the last line it logged. */
function postgresSh(command: 'start' | 'stop' | 'status'): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('bash', [script, command], { timeout: 300_000 }, (err, stdout, stderr) => {
      if (!err) return resolve(stdout)
      const last = stderr.trim().split('\n').at(-1) || err.message
      reject(new Error(`scripts/infra/postgres.sh ${command}: ${last}`))
    })
  })
}
