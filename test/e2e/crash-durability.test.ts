import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { openPgliteDatabase } from '../../src/adapters/db/pglite/pglite-database.ts'
import { startChildServer } from '../helpers/child-server.ts'

/**
 * The embedded database's durability, tested the hard way: a real `omninode serve` child stamps
 * under a stream of requests and is killed with SIGKILL in the middle of it. Every stamp that was
 * acknowledged with a 2xx must be in the data dir when it is opened again.
 */
test('after kill -9, every acknowledged stamp is in the data dir', { timeout: 240_000 }, async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'omninode-crash-'))
  t.after(() => rmSync(dataDir, { recursive: true, force: true }))
  const server = await startChildServer(['--data-dir', dataDir])

  const acknowledged: string[] = []
  let stop = false
  const writer = async (worker: number) => {
    for (let i = 0; !stop; i++) {
      try {
        const res = await fetch(`${server.url}/stamp`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ content: `worker ${worker} item ${i}\n`, namespace: 'onex.crash' }),
        })
        if (res.ok) acknowledged.push(((await res.json()) as { data: { file_hash: string } }).data.file_hash)
      } catch {
        return // the server is gone
      }
    }
  }
  const writers = Array.from({ length: 8 }, (_, w) => writer(w))
  while (acknowledged.length < 200) await new Promise((r) => setTimeout(r, 20))
  server.child.kill('SIGKILL')
  const [, signal] = await server.exited
  stop = true
  await Promise.all(writers)
  assert.equal(signal, 'SIGKILL')

  const db = await openPgliteDatabase({ dataDir })
  try {
    const { rows } = await db.query<{ file_hash: string }>(
      `SELECT file_hash FROM metadata_stamps WHERE namespace = 'onex.crash'`,
    )
    const stored = new Set(rows.map((r) => r.file_hash))
    const missing = acknowledged.filter((h) => !stored.has(h))
    assert.deepEqual(missing, [], `${missing.length} of ${acknowledged.length} acknowledged stamps lost`)
    assert.ok(stored.size >= acknowledged.length)
  } finally {
    await db.close()
  }
})

test('SIGTERM stops the server gracefully: exit 0, data dir unlocked', { timeout: 180_000 }, async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'omninode-term-'))
  t.after(() => rmSync(dataDir, { recursive: true, force: true }))
  const server = await startChildServer(['--data-dir', dataDir])
  const res = await fetch(`${server.url}/stamp`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ content: 'kept\n' }),
  })
  assert.equal(res.status, 200)
  server.child.kill('SIGTERM')
  const [code] = await server.exited
  assert.equal(code, 0)
  assert.ok(
    server.logs.some((l) => l.includes('"stopped"')),
    'logs say it stopped',
  )
  const db = await openPgliteDatabase({ dataDir })
  const { rows } = await db.query('SELECT 1 FROM metadata_stamps')
  assert.equal(rows.length, 1)
  await db.close()
})

test('a second server on the same data dir is refused while the first runs', {
  timeout: 180_000,
}, async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'omninode-lock-'))
  t.after(() => rmSync(dataDir, { recursive: true, force: true }))
  const first = await startChildServer(['--data-dir', dataDir])
  t.after(() => first.child.kill('SIGKILL'))
  await assert.rejects(startChildServer(['--data-dir', dataDir]), /in use by another omninode process/)
})
