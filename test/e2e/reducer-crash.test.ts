import assert from 'node:assert/strict'
import { test } from 'node:test'
import pino from 'pino'
import { startTestBridge } from '../helpers/bridge.ts'
import { type ChildServer, startChildServer } from '../helpers/child-server.ts'
import { noPostgresReason, testDatabaseUrl } from '../helpers/database-backends.ts'
import { kafkaSkip, startOwnKafka } from '../helpers/kafka.ts'
import { until } from '../helpers/until.ts'

// biome-ignore lint/suspicious/noExplicitAny: responses are checked field by field below
type Json = Record<string, any>

const relay = { pollIntervalMs: 20, initialBackoffMs: 10, maxBackoffMs: 200 }
const total = 10_000
const namespaces = ['omninode.crash.a', 'omninode.crash.b', 'omninode.crash.c']

/**
 * The proof on the production pair, Kafka + PostgreSQL: 10,000 stamps through a stamping bridge
 * (this process), counted by reducers in `omninode serve --nodes reducer` child processes. The first
 * reducer is killed with SIGKILL mid-stream (transactions cut short, offsets not yet committed);
 * two new ones join the group and split the partitions. The bridge states must then equal exactly
 * what the stamping store holds: nothing lost, nothing counted twice.
 */
test('Kafka + PostgreSQL: 10,000 stamps counted exactly, across a reducer killed with SIGKILL', {
  skip: kafkaSkip || (!testDatabaseUrl && noPostgresReason),
  timeout: 420_000,
}, async (t) => {
  const kafka = await startOwnKafka(t)
  const bridge = await startTestBridge(t, {
    backend: 'postgres',
    relay,
    config: { nodes: ['stamping'], kafkaBrokers: [kafka.brokers], batchMaxItems: 500 },
    logger: pino({ level: 'silent' }),
  })
  const { app, db } = bridge
  const name = (await db.query<{ name: string }>('SELECT current_database() AS name')).rows[0]!.name
  const url = new URL(testDatabaseUrl!)
  url.pathname = `/${name}`
  const reducerEnv = { DATABASE_URL: url.toString(), KAFKA_BROKERS: kafka.brokers, OMNINODE_NODES: 'reducer' }
  const children: ChildServer[] = []
  const startReducer = async () => {
    const child = await startChildServer([], reducerEnv)
    children.push(child)
    return child
  }
  t.after(async () => {
    for (const c of children)
      if (c.child.exitCode === null && c.child.signalCode === null) c.child.kill('SIGTERM')
    await Promise.all(children.map((c) => c.exited))
  })
  const counted = async () =>
    (
      await db.query<{ n: number }>(
        `SELECT coalesce(sum(stamp_count + restamp_count), 0)::int AS n FROM bridge_states
           WHERE namespace LIKE 'omninode.crash.%'`,
      )
    ).rows[0]!.n

  const first = await startReducer()
  let stamped = 0
  const stampAll = (async () => {
    for (let start = 0; start < total; start += 500) {
      const items = Array.from({ length: 500 }, (_, i) => {
        const n = start + i
        return { content: `crash ${n}\n${'y'.repeat(n % 200)}\n`, namespace: namespaces[n % 3] }
      })
      const res = await app.inject({ method: 'POST', url: '/batch', payload: { items } })
      assert.equal(res.statusCode, 200, res.body.slice(0, 300))
      assert.equal((res.json() as Json).data.succeeded, 500)
      stamped += 500
    }
  })()

  await until('the first reducer to count 2,000 stamps', async () => (await counted()) >= 2000, 180_000)
  first.child.kill('SIGKILL')
  const [, signal] = await first.exited
  assert.equal(signal, 'SIGKILL')
  const atKill = await counted()
  assert.ok(stamped < total, `killed mid-stream: ${stamped} stamped, ${atKill} counted`)

  // two reducers take over: the group splits the partitions between them
  await Promise.all([startReducer(), startReducer()])
  await stampAll
  await until('every stamp counted', async () => (await counted()) >= total, 240_000)
  // a little longer: a double count would show up as more than total
  await new Promise((r) => setTimeout(r, 2000))

  const stored = await db.query<{ namespace: string; n: number; size: number }>(
    `SELECT namespace, count(*)::int AS n, sum(file_size)::bigint AS size FROM metadata_stamps
       WHERE namespace LIKE 'omninode.crash.%' GROUP BY namespace ORDER BY namespace`,
  )
  assert.equal(
    stored.rows.reduce((a, r) => a + r.n, 0),
    total,
  )
  for (const row of stored.rows) {
    const res = await fetch(`${children[1]!.url}/bridge-states/${row.namespace}`)
    assert.equal(res.status, 200)
    const state = ((await res.json()) as Json).data
    assert.equal(state.stamp_count, row.n, `stamps of ${row.namespace}`)
    assert.equal(state.restamp_count, 0)
    assert.equal(state.total_size_bytes, Number(row.size), `bytes of ${row.namespace}`)
  }
  const marks = await db.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM action_dedup WHERE consumer_group = 'omninode-bridge.reducer'`,
  )
  assert.equal(marks.rows[0]!.n, total, 'one dedup mark per event counted')
})
