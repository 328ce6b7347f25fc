import assert from 'node:assert/strict'
import { type TestContext, test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { Leadership, StaleEpochError } from '../../../../src/nodes/registry/leadership.ts'
import type { Database } from '../../../../src/ports/database.ts'
import { dialects, migratedDatabase, skipReason } from '../../../helpers/database-backends.ts'

async function fresh(t: TestContext, dialect: (typeof dialects)[number]): Promise<Database> {
  return migratedDatabase(t, dialect)
}

for (const dialect of dialects) {
  test(`leader election with fencing epochs (${dialect})`, { skip: skipReason(dialect) }, async (t) => {
    const db = await fresh(t, dialect)
    const ttlMs = 300
    const a = new Leadership(db, { name: 'registry:*', holder: 'a', ttlMs })
    const b = new Leadership(db, { name: 'registry:*', holder: 'b', ttlMs })

    assert.equal(await a.tick(), true, 'the first candidate leads')
    assert.equal(a.epoch, 1)
    assert.equal(await b.tick(), false, 'a second one does not while the lease runs')
    assert.equal(await a.tick(), true, 'renewing keeps the epoch')
    assert.equal(a.epoch, 1)
    await db.transaction((tx) => a.fence(tx))

    // a stops renewing (paused, partitioned): b takes over after the TTL, with the next epoch
    await sleep(ttlMs + 50)
    assert.equal(await b.tick(), true)
    assert.equal(b.epoch, 2)

    // a still believes it leads at epoch 1: its write is refused, and nothing of it is applied
    await assert.rejects(
      db.transaction(async (tx) => {
        await tx.query("INSERT INTO registry_changes (change) VALUES ('{}'::jsonb)")
        await a.fence(tx, 1)
      }),
      (err: unknown) => err instanceof StaleEpochError && err.code === 'ONEX_CORE_030_CONFLICT',
    )
    const { rows } = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM registry_changes')
    assert.equal(rows[0]!.n, 0)
    assert.equal(a.isLeader, false, 'the refused write ended its leadership')
    assert.equal(await a.tick(), false)

    // a clean stop hands over at once
    await b.release()
    assert.equal(await a.tick(), true)
    assert.equal(a.epoch, 3)
  })
}
