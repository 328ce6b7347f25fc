import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { openPostgresDatabase } from '../../src/adapters/db/postgres/postgres-database.ts'
import { startChildServer } from '../helpers/child-server.ts'
import { skipReason } from '../helpers/database-backends.ts'
import { startOwnCluster } from '../helpers/postgres-cluster.ts'

/**
 * PostgreSQL goes away under load and comes back, the bridge stays up. A real `omninode serve` child
 * stamps a steady stream of distinct content on a cluster of this test's own; the cluster is halted
 * (fast shutdown) mid-stream and started again. In the gap every request must get a quick unified 503
 * with Retry-After (no hang, no 500, no driver text) and readiness must say 503; after it, the same
 * process must serve 2xx and be ready again; and every stamp acknowledged with a 2xx must be stored.
 *
 * Bounds are generous (a noisy 2-core machine) and every wait polls a condition, never a fixed sleep.
 */

const namespace = 'onex.outage'
/** Longest any single request may take, in the gap or not. */
const requestBoundMs = 3000
/** Longest the bridge may take to serve 2xx and be ready once PostgreSQL answers again. */
const recoveryBoundMs = 30_000
// Phrases of the pg driver and of PostgreSQL that must never reach a client.
const driverText =
  /ECONN|EPIPE|terminat|administrator|shutting down|starting up|Connection|pool|socket|postgres|pg_| {4}at /i

interface Outcome {
  startedAt: number
  ms: number
  /** 0: no HTTP response at all (network error or our own abort: a hang). */
  status: number
  retryAfter: string | null
  body: string
  hash?: string
}

async function until(
  what: string,
  check: () => boolean | Promise<boolean>,
  timeoutMs: number,
  seen: () => unknown = () => undefined,
) {
  const deadline = performance.now() + timeoutMs
  while (!(await check())) {
    if (performance.now() > deadline)
      throw new Error(`not within ${timeoutMs} ms: ${what}; seen: ${JSON.stringify(seen()) ?? 'n/a'}`)
    await sleep(50)
  }
}

test('PostgreSQL halted mid-stream and started again: quick 503s, readiness follows, no acknowledged stamp lost', {
  skip: skipReason('postgres'),
  timeout: 240_000,
}, async (t) => {
  const cluster = await startOwnCluster(t)
  const server = await startChildServer([], { DATABASE_URL: cluster.url })
  t.after(async () => {
    if (server.child.exitCode === null && server.child.signalCode === null) {
      server.child.kill('SIGKILL')
      await server.exited
    }
  })

  const outcomes: Outcome[] = []
  const send = async (path: string, init: RequestInit = {}): Promise<Outcome> => {
    const startedAt = performance.now()
    try {
      const res = await fetch(`${server.url}${path}`, { ...init, signal: AbortSignal.timeout(15_000) })
      const body = await res.text()
      return {
        startedAt,
        ms: performance.now() - startedAt,
        status: res.status,
        retryAfter: res.headers.get('retry-after'),
        body,
      }
    } catch (err) {
      return { startedAt, ms: performance.now() - startedAt, status: 0, retryAfter: null, body: String(err) }
    }
  }
  const stamp = (content: string) =>
    send('/stamp', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ content, namespace }),
    })

  let stop = false
  const worker = async (w: number) => {
    for (let i = 0; !stop; i++) {
      const outcome = await stamp(`outage worker ${w} item ${i} ${randomUUID()}\n`)
      if (outcome.status === 200)
        outcome.hash = (JSON.parse(outcome.body) as { data: { file_hash: string } }).data.file_hash
      outcomes.push(outcome)
      await sleep(5) // steady, not a busy loop of instant 503s
    }
  }
  const acked = () => outcomes.filter((o) => o.status === 200)
  const since = (at: number) => outcomes.filter((o) => o.startedAt >= at)
  const readiness: Outcome[] = []
  const ready = async () => {
    const outcome = await send('/health/ready')
    readiness.push(outcome)
    return outcome
  }

  const workers = Array.from({ length: 4 }, (_, w) => worker(w))
  try {
    await until('40 stamps acknowledged before the outage', () => acked().length >= 40, 60_000)
    assert.equal((await ready()).status, 200)

    // the outage
    const haltAt = performance.now()
    await cluster.halt()
    const haltedAt = performance.now()
    await until(
      'readiness says 503 while PostgreSQL is down',
      async () => (await ready()).status === 503,
      10_000,
      // what readiness answered meanwhile, and how fast
      () =>
        readiness
          .slice(-5)
          .map((o) => ({ status: o.status, ms: Math.round(o.ms), body: o.body.slice(0, 300) })),
    )
    // long enough for the circuit to open, and for one half-open probe (after 2 s) to fail and reopen it
    await until(
      '3 s of outage and 40 requests answered in it',
      () => performance.now() - haltedAt > 3000 && since(haltedAt).length >= 40,
      20_000,
    )
    const gap = since(haltedAt)
    assert.equal(gap.filter((o) => o.status === 200).length, 0, 'no 2xx while PostgreSQL is down')

    // the recovery, without restarting the bridge
    await cluster.start()
    const restartedAt = performance.now()
    await until(
      'stamps acknowledged again and readiness 200',
      async () => since(restartedAt).some((o) => o.status === 200) && (await ready()).status === 200,
      recoveryBoundMs,
    )
    const recoveredMs = performance.now() - restartedAt
    const ackedBefore = acked().length
    await until(
      '20 more stamps acknowledged after the recovery',
      () => acked().length >= ackedBefore + 20,
      30_000,
    )
    assert.equal(server.child.exitCode, null, 'the same process served throughout')
    t.diagnostic(
      `halt took ${Math.round(haltedAt - haltAt)} ms; ${gap.length} requests in the gap; recovered ${Math.round(recoveredMs)} ms after start; ${acked().length} acknowledged of ${outcomes.length}`,
    )
  } finally {
    stop = true
    await Promise.all(workers)
  }

  // every answer: a 200, or a quick unified 503 with Retry-After and nothing of the driver
  const statuses = new Set(outcomes.map((o) => o.status))
  assert.deepEqual(
    [...statuses].filter((s) => s !== 200 && s !== 503),
    [],
    `statuses ${[...statuses]}`,
  )
  assert.ok(statuses.has(503), 'the outage was seen')
  for (const o of [...outcomes, ...readiness]) {
    assert.ok(o.ms < requestBoundMs, `a request took ${Math.round(o.ms)} ms (status ${o.status})`)
    if (o.status !== 503) continue
    assert.match(o.retryAfter ?? '', /^[1-9]\d*$/, 'Retry-After in seconds')
    const body = JSON.parse(o.body) as {
      status: string
      error: { code: string; message: string }
      metadata: { correlation_id: string }
    }
    assert.equal(body.status, 'error')
    assert.ok(
      ['ONEX_CORE_050_SERVICE_UNAVAILABLE', 'ONEX_CORE_052_TIMEOUT'].includes(body.error.code),
      body.error.code,
    )
    assert.equal(typeof body.metadata.correlation_id, 'string')
    assert.doesNotMatch(o.body, driverText)
  }
  const logs = server.logs.join('\n')
  assert.match(logs, /"circuit":"open"/, 'the circuit opened')
  assert.match(logs, /"circuit":"closed"/, 'and closed again')
  const errorLines = server.logs.filter((l) => /"level":(50|60)/.test(l))
  assert.deepEqual(errorLines, [], 'an outage is logged as warnings, not as errors with stacks')

  // and it still stops gracefully
  server.child.kill('SIGTERM')
  assert.deepEqual(await server.exited, [0, null])

  // every acknowledged stamp is in PostgreSQL
  const db = await openPostgresDatabase({ url: cluster.url })
  try {
    const { rows } = await db.query<{ file_hash: string }>(
      'SELECT file_hash FROM metadata_stamps WHERE namespace = $1',
      [namespace],
    )
    const stored = new Set(rows.map((r) => r.file_hash))
    const missing = acked().filter((o) => !stored.has(o.hash!))
    assert.deepEqual(missing.length, 0, `${missing.length} of ${acked().length} acknowledged stamps lost`)
  } finally {
    await db.close()
  }
})
