import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { test } from 'node:test'
import { openPostgresDatabase } from '../../src/adapters/db/postgres/postgres-database.ts'
import type { Database } from '../../src/ports/database.ts'
import { startTestBridge } from '../helpers/bridge.ts'
import { createScratchDatabase, skipReason, testDatabaseUrl } from '../helpers/database-backends.ts'
import { until } from '../helpers/until.ts'

const pendingRow = (db: Database, owner: string, content: string) => {
  const id = randomUUID()
  return db
    .query(
      `INSERT INTO workflow_executions (id, namespace, state, request, content, owner)
       VALUES ($1, 'onex.owners', 'pending', $2::jsonb, $3, $4)`,
      [
        id,
        JSON.stringify({ stamp_type: 'lightweight', intelligence: true, encoding: 'text' }),
        Buffer.from(content),
        owner,
      ],
    )
    .then(() => id)
}

const stateOf = async (db: Database, id: string) =>
  (
    await db.query<{ state: string; owner: string }>(
      'SELECT state, owner FROM workflow_executions WHERE id = $1',
      [id],
    )
  ).rows[0]!

/**
 * Several processes on one PostgreSQL: a process takes over the unfinished workflows of a dead one (no
 * heartbeat within the lease), never those of a live one; a process that stops releases its lease.
 */
test('workflow leases on PostgreSQL: dead owners are taken over, live ones never', {
  skip: skipReason('postgres'),
  timeout: 60_000,
}, async (t) => {
  const scratch = await createScratchDatabase(testDatabaseUrl!)
  t.after(() => scratch.drop())
  const config = { workflowOwnerLeaseMs: 300, nodes: ['orchestrator' as const] }
  const a = await startTestBridge(t, { db: await openPostgresDatabase({ url: scratch.url }), config })
  const { rows } = await a.db.query<{ owner: string }>('SELECT owner FROM workflow_owners')
  assert.equal(rows.length, 1)
  const ownerA = rows[0]!.owner
  assert.match(ownerA, /^orchestrator@/)

  // a workflow of a process that died without a trace, and one of the live process A
  const ghosts = await pendingRow(a.db, 'orchestrator@gone/1', 'left by a dead process\n')
  const alive = await pendingRow(a.db, ownerA, 'owned by a live process\n')

  const bDb = await openPostgresDatabase({ url: scratch.url })
  const b = await startTestBridge(t, { db: bDb, config })
  await until(
    'the dead owner taken over',
    async () => (await stateOf(bDb, ghosts)).state === 'completed',
    10_000,
  )
  // whichever live process renewed its lease first took it over
  assert.notEqual((await stateOf(bDb, ghosts)).owner, 'orchestrator@gone/1')
  const owners = (await bDb.query<{ owner: string }>('SELECT owner FROM workflow_owners')).rows.map(
    (r) => r.owner,
  )
  assert.equal(owners.length, 2)
  const ownerB = owners.find((o) => o !== ownerA)!

  // A keeps renewing its lease: B never takes its workflow, over several lease periods
  await new Promise((r) => setTimeout(r, 1000))
  assert.deepEqual(await stateOf(bDb, alive), { state: 'pending', owner: ownerA })

  // A stops (releasing its lease): B takes over what it left
  await a.close()
  await until(
    'the stopped owner taken over',
    async () => (await stateOf(bDb, alive)).state === 'completed',
    10_000,
  )
  assert.equal((await stateOf(bDb, alive)).owner, ownerB)
  const detail = await b.app.inject({ method: 'GET', url: `/workflows/${alive}` })
  assert.deepEqual(
    (detail.json() as { data: { transitions: Array<{ to_state: string }> } }).data.transitions.map(
      (x) => x.to_state,
    ),
    ['processing', 'completed'],
  )
})
