import { execFile } from 'node:child_process'
import { mkdtempSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { TestContext } from 'node:test'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'

const script = fileURLToPath(new URL('../../scripts/infra/postgres.sh', import.meta.url))
const run = promisify(execFile)

/** A PostgreSQL cluster of one test's own, which it may stop and start without disturbing the others. */
export interface OwnCluster {
  /** postgres://postgres@127.0.0.1:<port>/omninode_test */
  url: string
  /** Fast shutdown (sessions are terminated, new connections refused); the data stays. */
  halt(): Promise<void>
  /** Starts it again, same port, same data. */
  start(): Promise<void>
}

async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  await new Promise((resolve) => server.close(resolve))
  return port
}

/**
 * scripts/infra/postgres.sh on a directory and port of its own (OMNINODE_PG_DIR, OMNINODE_PG_PORT),
 * removed when the test ends. Takes a few seconds (initdb).
 */
export async function startOwnCluster(t: TestContext): Promise<OwnCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'omninode-pg-'))
  const env = { ...process.env, OMNINODE_PG_DIR: dir, OMNINODE_PG_PORT: String(await freePort()) }
  const call = async (command: string) => (await run('bash', [script, command], { env })).stdout.trim()
  t.after(() => call('stop'))
  const url = await call('start')
  return {
    url,
    halt: async () => {
      await call('halt')
    },
    start: async () => {
      await call('start')
    },
  }
}
