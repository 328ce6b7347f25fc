import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type TestContext, test } from 'node:test'
import { openPgliteDatabase } from '../../src/adapters/db/pglite/pglite-database.ts'
import { type ChildServer, startChildServer } from '../helpers/child-server.ts'
import { startFakeOnexTree } from '../helpers/fake-onextree.ts'
import { until } from '../helpers/until.ts'

/**
 * Crash safety of workflows, the hard way: a real `omninode serve` runs batches of workflows (slowed by
 * an OnexTree that takes 200 ms, so that many are mid-flight) and is killed with SIGKILL. The data dir
 * then holds workflows left pending or processing. The next start resumes them (or fails them, by
 * config): none stays stuck, none loses what it finished, and none publishes its outcome twice.
 */
async function killMidBatch(t: TestContext, env: Record<string, string>) {
  const dataDir = mkdtempSync(join(tmpdir(), 'omninode-wf-crash-'))
  t.after(() => rmSync(dataDir, { recursive: true, force: true }))
  const onextree = await startFakeOnexTree(t, 200)
  onextree.state.mode = 'slow'
  const serverEnv = { OMNINODE_ONEXTREE_URL: onextree.url, OMNINODE_ONEXTREE_TIMEOUT_MS: '1500', ...env }
  const server = await startChildServer(['--data-dir', dataDir, '--nodes', 'orchestrator'], serverEnv)
  const completed: string[] = []
  let stop = false
  const writer = async (worker: number) => {
    for (let i = 0; !stop; i++) {
      const items = Array.from({ length: 10 }, (_, k) => ({
        content: `worker ${worker} batch ${i} item ${k}\n`,
        file_path: `w${worker}/b${i}/i${k}.md`,
        namespace: 'onex.crash',
      }))
      try {
        const res = await fetch(`${server.url}/workflows/stamp`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ items }),
        })
        if (res.ok) {
          const body = (await res.json()) as {
            data: { workflows: Array<{ workflow_id: string; state: string }> }
          }
          for (const w of body.data.workflows) if (w.state === 'completed') completed.push(w.workflow_id)
        }
      } catch {
        return // the server is gone
      }
    }
  }
  const writers = Array.from({ length: 6 }, (_, w) => writer(w))
  // killed while OnexTree holds at least 20 workflows' questions: those are surely mid-flight
  while (completed.length < 60 || onextree.state.inFlight < 20) await new Promise((r) => setTimeout(r, 5))
  server.child.kill('SIGKILL')
  const [, signal] = await server.exited
  stop = true
  await Promise.all(writers)
  assert.equal(signal, 'SIGKILL')

  const before = await openPgliteDatabase({ dataDir })
  const { rows: left } = await before.query<{ id: string; state: string }>(
    `SELECT id, state FROM workflow_executions WHERE state IN ('pending', 'processing')`,
  )
  const { rows: done } = await before.query<{ id: string }>(
    `SELECT id FROM workflow_executions WHERE state = 'completed'`,
  )
  await before.close()
  assert.ok(left.length > 0, 'the kill left workflows unfinished')
  const doneIds = new Set(done.map((r) => r.id))
  assert.deepEqual(
    completed.filter((id) => !doneIds.has(id)),
    [],
    'every acknowledged completion survived the kill',
  )

  const restarted = await startChildServer(['--data-dir', dataDir, '--nodes', 'orchestrator'], serverEnv)
  await untilNoneUnfinished(restarted)
  restarted.child.kill('SIGTERM')
  assert.equal((await restarted.exited)[0], 0)
  return { dataDir, left, completed, logs: restarted.logs }
}

async function untilNoneUnfinished(server: ChildServer) {
  const count = async (state: string) => {
    const res = await fetch(`${server.url}/workflows?state=${state}&limit=500`)
    return ((await res.json()) as { data: { items: unknown[] } }).data.items.length
  }
  await until(
    'no workflow pending or processing',
    async () => (await count('pending')) + (await count('processing')) === 0,
    60_000,
  )
}

test('after kill -9 mid-batch, the next start resumes every unfinished workflow, once', {
  timeout: 240_000,
}, async (t) => {
  const { dataDir, left, logs } = await killMidBatch(t, {})
  assert.ok(
    logs.some(
      (l) => l.includes('workflows of a stopped process recovered') && l.includes(`"resumed":${left.length}`),
    ),
  )
  const db = await openPgliteDatabase({ dataDir })
  try {
    const { rows: states } = await db.query<{ state: string; n: number }>(
      'SELECT state, count(*)::int AS n FROM workflow_executions GROUP BY state',
    )
    assert.deepEqual(
      states.map((r) => r.state),
      ['completed'],
      'all completed',
    )
    // each resumed workflow: its stamp stored, every step recorded once, its transitions in order
    const ids = JSON.stringify(left.map((r) => r.id))
    const { rows: resumed } = await db.query<{
      id: string
      steps: number
      transitions: string
      stamped: boolean
    }>(
      `SELECT w.id,
         (SELECT count(*)::int FROM workflow_steps s WHERE s.workflow_id = w.id) AS steps,
         (SELECT string_agg(t.to_state, ',' ORDER BY t.id) FROM fsm_transitions t WHERE t.workflow_id = w.id) AS transitions,
         EXISTS (SELECT 1 FROM metadata_stamps m WHERE m.file_hash = w.file_hash AND m.namespace = w.namespace) AS stamped
       FROM workflow_executions w WHERE w.id IN (SELECT (jsonb_array_elements_text($1::jsonb))::uuid)`,
      [ids],
    )
    assert.equal(resumed.length, left.length)
    for (const w of resumed) {
      assert.equal(w.steps, 5, `workflow ${w.id} steps`)
      assert.equal(w.transitions, 'processing,completed', `workflow ${w.id} transitions`)
      assert.equal(w.stamped, true)
    }
    // exactly one STAMP_WORKFLOW_COMPLETED per workflow, published or still in the outbox
    const { rows: events } = await db.query<{ workflow_id: string; n: number }>(
      `SELECT workflow_id, count(*)::int AS n FROM (
         SELECT payload ->> 'workflow_id' AS workflow_id FROM event_logs
           WHERE event_type = 'STAMP_WORKFLOW_COMPLETED' AND direction = 'published'
         UNION ALL
         SELECT envelope -> 'payload' ->> 'workflow_id' FROM event_outbox
           WHERE envelope ->> 'event_type' = 'STAMP_WORKFLOW_COMPLETED') e
       GROUP BY workflow_id`,
    )
    const { rows: total } = await db.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM workflow_executions',
    )
    assert.equal(events.length, total[0]!.n, 'one completion event per workflow')
    assert.deepEqual(
      events.filter((e) => e.n !== 1),
      [],
      'none twice',
    )
    // and one stamp event per stamp stored
    const { rows: stamps } = await db.query<{ stamps: number; events: number }>(
      `SELECT (SELECT count(*)::int FROM metadata_stamps) AS stamps,
         (SELECT count(*)::int FROM (
           SELECT 1 FROM event_logs WHERE event_type = 'METADATA_STAMP_CREATED' AND direction = 'published'
           UNION ALL SELECT 1 FROM event_outbox WHERE envelope ->> 'event_type' = 'METADATA_STAMP_CREATED') x) AS events`,
    )
    assert.equal(stamps[0]!.events, stamps[0]!.stamps)
  } finally {
    await db.close()
  }
})

test('with workflow_recovery=fail, the next start fails them instead, published', {
  timeout: 240_000,
}, async (t) => {
  const { dataDir, left } = await killMidBatch(t, { OMNINODE_WORKFLOW_RECOVERY: 'fail' })
  const db = await openPgliteDatabase({ dataDir })
  try {
    const ids = JSON.stringify(left.map((r) => r.id))
    const { rows } = await db.query<{ state: string; failed_step: string; error_code: string; last: string }>(
      `SELECT state, failed_step, error_code,
         (SELECT t.trigger FROM fsm_transitions t WHERE t.workflow_id = w.id ORDER BY t.id DESC LIMIT 1) AS last
       FROM workflow_executions w WHERE id IN (SELECT (jsonb_array_elements_text($1::jsonb))::uuid)`,
      [ids],
    )
    assert.equal(rows.length, left.length)
    for (const r of rows) {
      assert.equal(r.state, 'failed')
      assert.equal(r.failed_step, 'recovery')
      assert.equal(r.error_code, 'ONEX_CORE_050_SERVICE_UNAVAILABLE')
      assert.ok(r.last === 'fail' || r.last === 'reject', r.last)
    }
    const { rows: failedEvents } = await db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM (
         SELECT 1 FROM event_logs WHERE event_type = 'STAMP_WORKFLOW_FAILED' AND direction = 'published'
         UNION ALL SELECT 1 FROM event_outbox WHERE envelope ->> 'event_type' = 'STAMP_WORKFLOW_FAILED') x`,
    )
    assert.equal(failedEvents[0]!.n, left.length)
  } finally {
    await db.close()
  }
})
