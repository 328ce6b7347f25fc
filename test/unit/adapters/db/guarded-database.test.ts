import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { guardDatabase } from '../../../../src/adapters/db/guarded-database.ts'
import { ConflictError, TimeoutError, UnavailableError } from '../../../../src/core/errors.ts'
import type { Database, QueryResult } from '../../../../src/ports/database.ts'

/**
 * The breaker's logic against a scripted Database: whether the database is up is a switch here.
 * The contract suite checks the same wrapper against a real, unreachable PostgreSQL.
 */
function scripted() {
  const state = { up: true, failure: (): Error => new UnavailableError('down'), calls: 0, healthCalls: 0 }
  const answer = async (): Promise<QueryResult> => {
    state.calls++
    if (!state.up) throw state.failure()
    return { rows: [{ ok: 1 }], rowCount: 1 }
  }
  const db: Database = {
    dialect: 'postgres',
    query: answer as Database['query'],
    transaction: async (fn) => {
      await answer()
      return fn(db)
    },
    execScript: async () => {
      await answer()
    },
    health: async () => {
      state.healthCalls++
      return { ok: state.up, latencyMs: 0 }
    },
    close: async () => {},
    stats: () => ({ total: 1, idle: 1, waiting: 0, size: 10 }),
  }
  return { db, state }
}

describe('guardDatabase', () => {
  it('opens after consecutive outages, fails fast while open, and closes after a good probe', async () => {
    const { db, state } = scripted()
    const states: string[] = []
    const guarded = guardDatabase(db, {
      failureThreshold: 3,
      halfOpenAfterMs: 200,
      onStateChange: (s) => states.push(s),
    })
    state.up = false
    for (let i = 0; i < 3; i++) await assert.rejects(guarded.query('SELECT 1'), UnavailableError)
    assert.equal(state.calls, 3)

    const err = await guarded.query('SELECT 1').catch((e: unknown) => e)
    assert.ok(err instanceof UnavailableError)
    assert.deepEqual(err.details, { circuit: 'open' })
    assert.equal(err.retryAfterSeconds, 1)
    assert.equal(state.calls, 3, 'the database was not called while the circuit is open')

    assert.equal((await guarded.health()).ok, false, 'health bypasses the open circuit')
    assert.equal(state.healthCalls, 1)

    state.up = true
    await sleep(250)
    assert.deepEqual((await guarded.query('SELECT 1')).rows, [{ ok: 1 }])
    assert.deepEqual(states, ['open', 'half-open', 'closed'])
  })

  it('re-opens when the half-open probe fails', async () => {
    const { db, state } = scripted()
    const guarded = guardDatabase(db, { failureThreshold: 1, halfOpenAfterMs: 100 })
    state.up = false
    await assert.rejects(guarded.execScript('SELECT 1'), UnavailableError)
    await sleep(150)
    await assert.rejects(guarded.query('SELECT 1'), (e: UnavailableError) => e.details === undefined)
    const err = await guarded.query('SELECT 1').catch((e: unknown) => e)
    assert.ok(err instanceof UnavailableError && err.details?.['circuit'] === 'open')
  })

  it('counts timeouts as outages', async () => {
    const { db, state } = scripted()
    const guarded = guardDatabase(db, { failureThreshold: 2 })
    state.up = false
    state.failure = () => new TimeoutError('slow')
    await assert.rejects(guarded.query('SELECT 1'), TimeoutError)
    await assert.rejects(guarded.query('SELECT 1'), TimeoutError)
    await assert.rejects(
      guarded.query('SELECT 1'),
      (e: UnavailableError) => e.details?.['circuit'] === 'open',
    )
  })

  it('does not count other errors, and an answer resets the count', async () => {
    const { db, state } = scripted()
    const guarded = guardDatabase(db, { failureThreshold: 2 })
    state.up = false
    state.failure = () => new ConflictError('duplicate')
    for (let i = 0; i < 5; i++) await assert.rejects(guarded.query('INSERT'), ConflictError)

    state.failure = () => new UnavailableError('down')
    await assert.rejects(guarded.query('SELECT 1'), UnavailableError)
    state.failure = () => new ConflictError('duplicate')
    await assert.rejects(guarded.query('INSERT'), ConflictError)
    state.failure = () => new UnavailableError('down')
    await assert.rejects(guarded.query('SELECT 1'), (e: UnavailableError) => e.details === undefined)
    assert.equal(state.calls, 8, 'never opened: every call reached the database')
  })

  it('guards a transaction as one call and passes its result and errors through', async () => {
    const { db } = scripted()
    const guarded = guardDatabase(db)
    assert.equal(await guarded.transaction(async (tx) => (await tx.query('SELECT 1')).rowCount), 1)
    const mine = new ConflictError('mine')
    await assert.rejects(
      guarded.transaction(async () => {
        throw mine
      }),
      (e) => e === mine,
    )
    assert.deepEqual(guarded.stats?.(), { total: 1, idle: 1, waiting: 0, size: 10 })
    assert.equal(guarded.dialect, 'postgres')
  })
})
