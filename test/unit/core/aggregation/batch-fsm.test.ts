import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import {
  BatchFsm,
  checkBatchFsm,
  InvalidTransitionError,
} from '../../../../src/core/aggregation/batch-fsm.ts'
import { ContractError } from '../../../../src/core/errors.ts'
import { reducerContract } from './fixtures.ts'

describe('the reducer batch FSM from its contract', () => {
  const fsm = checkBatchFsm(reducerContract())

  it('goes collecting → aggregating → persisting → committed, recording each move', () => {
    const b = new BatchFsm(fsm)
    assert.equal(b.state, 'collecting')
    b.fire('window_closed', 1)
    b.fire('aggregated', 2)
    b.fire('persisted', 3)
    assert.equal(b.state, 'committed')
    assert.equal(b.terminal, true)
    assert.deepEqual(
      b.history.map((t) => `${t.from}>${t.to}@${t.at}`),
      ['collecting>aggregating@1', 'aggregating>persisting@2', 'persisting>committed@3'],
    )
  })

  it('fails from aggregating or persisting, and a terminal state has no exits', () => {
    const b = new BatchFsm(fsm)
    b.fire('window_closed', 1)
    b.fire('aggregated', 2)
    assert.equal(b.can('fail'), true)
    b.fire('fail', 3)
    assert.equal(b.state, 'failed')
    assert.throws(() => b.fire('persisted', 4), InvalidTransitionError)
  })

  it('refuses a trigger not declared from the current state', () => {
    const b = new BatchFsm(fsm)
    assert.throws(() => b.fire('persisted', 1), /no transition from collecting on persisted/)
    assert.equal(b.state, 'collecting')
  })

  it('refuses, at start, a contract whose FSM lacks a trigger the reducer fires', () => {
    const c = reducerContract()
    c.fsm!.transitions = c.fsm!.transitions.filter((t) => t.trigger !== 'persisted')
    assert.throws(
      () => checkBatchFsm(c),
      (err: unknown) => err instanceof ContractError && /persisted/.test(err.message),
    )
  })
})
