import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { type ChildServer, startChildServer } from '../helpers/child-server.ts'
import { until } from '../helpers/until.ts'

// biome-ignore lint/suspicious/noExplicitAny: responses are checked field by field below
type Json = Record<string, any>

const namespace = 'omninode.embedded.crash'

/**
 * The reducer on the embedded default (in-process bus, PGlite in a data dir) across kill -9 of the
 * process: the bridge state counts every stored stamp exactly once. The relay deletes an outbox row
 * only once the in-process consumers have committed its event (untilConsumed), so what the reducer had
 * not counted when the process died is published again at the next start, and what it had counted is
 * skipped (action_dedup); the in-process offsets start again at 0.
 */
test('embedded default: a killed and restarted bridge counts every stored stamp exactly once', {
  timeout: 420_000,
}, async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'omninode-reducer-crash-'))
  t.after(() => rmSync(dataDir, { recursive: true, force: true }))
  const servers: ChildServer[] = []
  t.after(async () => {
    for (const s of servers)
      if (s.child.exitCode === null && s.child.signalCode === null) s.child.kill('SIGKILL')
    await Promise.all(servers.map((s) => s.exited))
  })
  const start = async () => {
    const s = await startChildServer(['--data-dir', dataDir])
    servers.push(s)
    return s
  }
  const stampBatch = async (server: ChildServer, from: number, n: number) => {
    const items = Array.from({ length: n }, (_, i) => ({ content: `embedded ${from + i}\n`, namespace }))
    const res = await fetch(`${server.url}/batch`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ items }),
    })
    assert.equal(res.status, 200)
    assert.equal(((await res.json()) as Json).data.succeeded, n)
  }
  const state = async (server: ChildServer) => {
    const res = await fetch(`${server.url}/bridge-states/${namespace}`)
    return res.status === 404
      ? { stamp_count: 0, restamp_count: 0 }
      : (((await res.json()) as Json).data as Json)
  }
  const stored = async (server: ChildServer) => {
    let total = 0
    let cursor: string | undefined
    do {
      const res = await fetch(
        `${server.url}/namespace/${namespace}?limit=500${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
      )
      const page = ((await res.json()) as Json).data
      total += page.items.length
      cursor = page.next_cursor ?? undefined
    } while (cursor)
    return total
  }

  const first = await start()
  await stampBatch(first, 0, 1000)
  await until('the first 1,000 counted', async () => (await state(first)).stamp_count === 1000, 60_000)
  // stamping goes on; the process is killed in the middle of it
  let n = 1000
  const writer = (async () => {
    for (;;) {
      try {
        await stampBatch(first, n, 200)
        n += 200
      } catch {
        return // the server is gone
      }
    }
  })()
  await until('more stamps', () => n >= 2400, 120_000)
  first.child.kill('SIGKILL')
  await first.exited
  await writer

  const second = await start()
  const storedAfterCrash = await stored(second)
  // what the relay had not marked sent goes out again now; wait until the count stops moving
  let last = -1
  await until(
    'the count to settle',
    async () => {
      await new Promise((r) => setTimeout(r, 1500))
      const now = (await state(second)).stamp_count as number
      const settled = now === last
      last = now
      return settled
    },
    120_000,
  )
  const afterRestart = (await state(second)).stamp_count as number
  assert.equal(afterRestart, storedAfterCrash, 'the bridge state counts every stored stamp, once')
  t.diagnostic(`stored ${storedAfterCrash} before the kill, counted ${afterRestart} after the restart`)

  // the in-process offsets start at 0 again; new stamps are counted, each once
  await stampBatch(second, 100_000, 1000)
  await until('the new stamps', async () => (await state(second)).stamp_count >= afterRestart + 1000, 60_000)
  await new Promise((r) => setTimeout(r, 1500))
  assert.equal((await state(second)).stamp_count, afterRestart + 1000)
  assert.equal((await state(second)).restamp_count, 0)
})
