import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { test } from 'node:test'
import { migrate } from '../../../../src/adapters/db/migrate.ts'
import { openPgliteDatabase } from '../../../../src/adapters/db/pglite/pglite-database.ts'
import { WorkflowStore } from '../../../../src/nodes/orchestrator/store.ts'
import { startTestBridge } from '../../../helpers/bridge.ts'
import { dialects, migratedDatabase, skipReason } from '../../../helpers/database-backends.ts'
import { until } from '../../../helpers/until.ts'

for (const dialect of dialects)
  test(`pruneFinished deletes old finished workflows with their steps and transitions, in batches (${dialect})`, {
    skip: skipReason(dialect),
  }, async (t) => {
    const db = await migratedDatabase(t, dialect)
    const now = Date.parse('2026-06-30T00:00:00Z')
    const daysAgo = (d: number) => new Date(now - d * 86_400_000).toISOString()
    const workflows = {
      oldCompleted: { state: 'completed', created: daysAgo(40), finished: daysAgo(40) },
      oldFailed: { state: 'failed', created: daysAgo(39), finished: daysAgo(39) },
      oldCompleted2: { state: 'completed', created: daysAgo(38), finished: daysAgo(38) },
      oldUnfinished: { state: 'processing', created: daysAgo(40), finished: null },
      finishedLately: { state: 'completed', created: daysAgo(40), finished: daysAgo(1) },
      recent: { state: 'completed', created: daysAgo(2), finished: daysAgo(2) },
    }
    const ids = new Map<string, string>()
    for (const [name, w] of Object.entries(workflows)) {
      const id = randomUUID()
      ids.set(name, id)
      await db.query(
        `INSERT INTO workflow_executions (id, namespace, state, created_at, finished_at, updated_at)
         VALUES ($1, 'omninode.test', $2, $3, $4, $3)`,
        [id, w.state, w.created, w.finished],
      )
      for (const [position, step] of ['validate_input', 'hash_generation'].entries())
        await db.query(
          `INSERT INTO workflow_steps (workflow_id, step, position, status, attempts, started_at, duration_ms)
           VALUES ($1, $2, $3, 'completed', 1, $4, 1)`,
          [id, step, position, w.created],
        )
      await db.query(
        `INSERT INTO fsm_transitions (workflow_id, from_state, to_state, trigger, at)
         VALUES ($1, 'pending', 'processing', 'start', $2)`,
        [id, w.created],
      )
    }
    const statements: string[] = []
    const counting = {
      query: (sql: string, params?: readonly unknown[]) => {
        statements.push(sql)
        return db.query(sql, params)
      },
    } as unknown as typeof db
    const deleted = await new WorkflowStore(counting).pruneFinished(new Date(now - 30 * 86_400_000), {
      batchSize: 2,
    })
    assert.equal(deleted, 3)
    assert.equal(statements.length, 2, 'a batch of 2, then one of 1')

    const kept = ['oldUnfinished', 'finishedLately', 'recent'].map((name) => ids.get(name)!).sort()
    const count = async (table: string, column: string) =>
      (
        await db.query<{ id: string }>(`SELECT DISTINCT ${column}::text AS id FROM ${table} ORDER BY 1`)
      ).rows.map((r) => r.id)
    assert.deepEqual(await count('workflow_executions', 'id'), kept)
    assert.deepEqual(
      await count('workflow_steps', 'workflow_id'),
      kept,
      'the steps went with their workflows',
    )
    assert.deepEqual(await count('fsm_transitions', 'workflow_id'), kept, 'and the transitions')
  })

test('a bridge with OMNINODE_WORKFLOW_RETENTION_DAYS prunes at start; with 0 it keeps everything', async (t) => {
  for (const retention of [0, 30]) {
    const db = await openPgliteDatabase()
    await migrate(db)
    const old = new Date(Date.now() - 31 * 86_400_000).toISOString()
    await db.query(
      `INSERT INTO workflow_executions (id, namespace, state, created_at, finished_at, updated_at)
       VALUES ($1, 'omninode.test', 'completed', $2, $2, $2)`,
      [randomUUID(), old],
    )
    const count = async () =>
      (await db.query<{ n: number }>('SELECT count(*)::int AS n FROM workflow_executions')).rows[0]!.n
    const bridge = await startTestBridge(t, {
      db,
      bus: null,
      config: { nodes: ['stamping', 'orchestrator'], workflowRetentionDays: retention },
    })
    if (retention) await until('the old workflow pruned', async () => (await count()) === 0)
    else {
      await new Promise((resolve) => setTimeout(resolve, 200))
      assert.equal(await count(), 1, 'kept forever')
    }
    await bridge.close()
  }
})
