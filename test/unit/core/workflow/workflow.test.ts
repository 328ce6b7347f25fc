import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { test } from 'node:test'
import { parseContract } from '../../../../src/core/contracts/parse.ts'
import { ContractError } from '../../../../src/core/errors.ts'
import { WorkflowFsm } from '../../../../src/core/workflow/fsm.ts'
import { WorkflowLimiter } from '../../../../src/core/workflow/limiter.ts'
import { stampWorkflowPlan } from '../../../../src/core/workflow/plan.ts'
import { backoffMs, shouldRetry } from '../../../../src/core/workflow/retry.ts'

const text = readFileSync(
  new URL('../../../../src/nodes/orchestrator/contract.yaml', import.meta.url),
  'utf8',
)
const contract = parseContract(text, 'orchestrator')

test('the FSM is the contract: its moves, their triggers, its terminal states', () => {
  const fsm = new WorkflowFsm(contract)
  assert.equal(fsm.initial, 'pending')
  assert.deepEqual(fsm.move('pending', 'processing'), { from: 'pending', to: 'processing', trigger: 'start' })
  assert.equal(fsm.move('processing', 'failed').trigger, 'fail')
  assert.throws(() => fsm.move('completed', 'processing'), /not a transition/)
  assert.equal(fsm.isTerminal('completed'), true)
  assert.equal(fsm.isTerminal('processing'), false)
  const custom = parseContract(text.replace('trigger: finish', 'trigger: done'), 'x')
  assert.equal(new WorkflowFsm(custom).move('processing', 'completed').trigger, 'done')
})

test('a contract without a move the orchestrator makes fails at start, naming it', () => {
  const fsm = new WorkflowFsm(
    parseContract(text.replace('    - { from: pending, to: failed, trigger: reject }\n', ''), 'x'),
  )
  assert.throws(
    () => fsm.require([['pending', 'failed']], 'orchestrator'),
    (err: ContractError) => err instanceof ContractError && /has no pending → failed/.test(err.message),
  )
})

test('the step plan takes every setting from the contract, in the orchestrator order', () => {
  const plan = stampWorkflowPlan(contract)
  assert.equal(plan.stamp_creation.timeout_ms, 5000)
  assert.equal(plan.stamp_creation.retry_policy.max_attempts, 3)
  assert.equal(plan.onextree_intelligence.optional, true)
  const tuned = stampWorkflowPlan(parseContract(text.replace('timeout_ms: 2000', 'timeout_ms: 75'), 'x'))
  assert.equal(tuned.onextree_intelligence.timeout_ms, 75)
})

test('a plan lacking a step, or naming an unknown one, is a ContractError naming the field', () => {
  const missing = text.replace(/ {4}- name: hash_generation\n( {6}.*\n){2}/, '')
  assert.throws(
    () => stampWorkflowPlan(parseContract(missing, 'x')),
    (err: ContractError) => err.issues.some((i) => i.message === 'has no step hash_generation'),
  )
  const unknown = text.replace(
    'name: hash_generation',
    'name: hash_generation\n      timeout_ms: 1\n      retry_policy: { max_attempts: 1, initial_backoff_ms: 0, max_backoff_ms: 0 }\n    - name: teleport',
  )
  assert.throws(
    () => stampWorkflowPlan(parseContract(unknown, 'x')),
    (err: ContractError) => err.issues.some((i) => /'teleport' is not a step/.test(i.message)),
  )
})

test('backoff grows by the multiplier from the initial delay and stops at the cap', () => {
  const policy = { max_attempts: 6, initial_backoff_ms: 20, backoff_multiplier: 3, max_backoff_ms: 200 }
  assert.deepEqual(
    [1, 2, 3, 4, 5].map((n) => backoffMs(policy, n)),
    [0, 20, 60, 180, 200],
  )
  assert.equal(
    backoffMs({ max_attempts: 3, initial_backoff_ms: 10, max_backoff_ms: 100 }, 3),
    20,
    'multiplier 2 by default',
  )
  assert.equal(shouldRetry(policy, 5, true), true)
  assert.equal(shouldRetry(policy, 6, true), false)
  assert.equal(shouldRetry(policy, 1, false), false)
})

test('the limiter runs at most N, queues at most M, admits all of a request or none', async () => {
  const limiter = new WorkflowLimiter(2, 1)
  assert.equal(limiter.admit(4), false)
  assert.equal(limiter.admit(3), true)
  assert.equal(limiter.admit(1), false, 'full')
  await limiter.acquire(true)
  await limiter.acquire(true)
  let third = false
  const waiting = limiter.acquire(true).then(() => {
    third = true
  })
  await new Promise((r) => setImmediate(r))
  assert.deepEqual([limiter.running, limiter.queued, third], [2, 1, false])
  limiter.done()
  await waiting
  assert.deepEqual([limiter.running, limiter.queued, third], [2, 0, true])
  assert.equal(limiter.admit(1), true)
  limiter.release(1)
  limiter.done()
  limiter.done()
  assert.equal(limiter.running, 0)
  assert.equal(limiter.admit(3), true)
})

test('tryAcquire takes a free slot for admitted work at once, and keeps the reservation when none is free', () => {
  const limiter = new WorkflowLimiter(1, 1)
  assert.equal(limiter.admit(2), true)
  assert.equal(limiter.tryAcquire(), true)
  assert.deepEqual([limiter.running, limiter.queued], [1, 1])
  assert.equal(limiter.tryAcquire(), false)
  assert.deepEqual([limiter.running, limiter.queued], [1, 1], 'the second keeps its reservation')
  limiter.done()
  assert.equal(limiter.tryAcquire(), true)
  assert.deepEqual([limiter.running, limiter.queued], [1, 0])
})
