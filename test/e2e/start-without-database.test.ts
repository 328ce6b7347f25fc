import assert from 'node:assert/strict'
import { createServer } from 'node:net'
import { test } from 'node:test'
import { runOmninode } from '../helpers/child-server.ts'

/**
 * A bridge cannot migrate, so cannot start, without its database: `serve` and `migrate` fail fast with
 * a message that names DATABASE_URL (password hidden) and the reason, and exit non-zero, no stack trace.
 * Needs no PostgreSQL: the URL points at a loopback port nothing listens on.
 */
async function closedPort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  await new Promise((resolve) => server.close(resolve))
  return port
}

for (const command of [['serve', '--port', '0'], ['migrate']]) {
  test(`omninode ${command[0]} with an unreachable DATABASE_URL exits non-zero at once, naming it`, {
    timeout: 60_000,
  }, async () => {
    const port = await closedPort()
    const url = `postgres://omninode:s3cret@127.0.0.1:${port}/omninode_test`
    const run = await runOmninode(command, { DATABASE_URL: url, OMNINODE_LOG_LEVEL: 'info' })
    assert.equal(run.signal, null, 'exited on its own')
    assert.notEqual(run.code, 0)
    assert.ok(run.ms < 10_000, `exited after ${Math.round(run.ms)} ms`)
    assert.match(
      run.stderr,
      new RegExp(
        `^omninode: cannot use the PostgreSQL of DATABASE_URL=postgres://omninode:\\*\\*\\*@127\\.0\\.0\\.1:${port}/omninode_test: the database is unavailable \\(connect ECONNREFUSED 127\\.0\\.0\\.1:${port}\\)\\n$`,
      ),
    )
    const output = run.stdout + run.stderr
    assert.doesNotMatch(output, /s3cret/, 'the password is never printed')
    assert.doesNotMatch(output, /\n\s+at /, 'no stack trace')
    assert.doesNotMatch(run.stdout, /listening/, 'never listened')
  })
}
