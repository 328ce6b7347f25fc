import assert from 'node:assert/strict'
import { test } from 'node:test'
import { InvalidInputError, UnavailableError } from '../../../../src/core/errors.ts'
import { runStep } from '../../../../src/nodes/orchestrator/step-runner.ts'

const step = (max_attempts: number, timeout_ms = 1000) => ({
  name: 'hash_generation',
  timeout_ms,
  retry_policy: { max_attempts, initial_backoff_ms: 5, max_backoff_ms: 20 },
})
const now = () => new Date()

test('a retryable failure is retried up to max_attempts, then reported with its attempts', async () => {
  let calls = 0
  const ok = await runStep(step(3), now, (_s, n) => {
    calls++
    if (n < 3) throw new UnavailableError('away')
    return 'done'
  })
  assert.deepEqual([ok.ok, ok.attempts, calls], [true, 3, 3])
  const failed = await runStep(step(2), now, () => {
    throw new UnavailableError('still away')
  })
  assert.equal(failed.ok, false)
  assert.equal(failed.attempts, 2)
  assert.equal(!failed.ok && failed.error.code, 'ONEX_CORE_050_SERVICE_UNAVAILABLE')
})

test('bad input is not retried: it would fail the same way', async () => {
  let calls = 0
  const result = await runStep(step(5), now, () => {
    calls++
    throw new InvalidInputError('no', [{ field: 'content', message: 'bad' }])
  })
  assert.deepEqual([result.ok, result.attempts, calls], [false, 1, 1])
})

test('an attempt beyond timeout_ms is abandoned (its signal aborted) and retried', async () => {
  const aborted: boolean[] = []
  const started = performance.now()
  const result = await runStep(step(2, 30), now, (signal, n) => {
    if (n === 1)
      return new Promise((resolve) => {
        signal.addEventListener('abort', () => {
          aborted.push(true)
          resolve('too late')
        })
      })
    return 'second'
  })
  assert.equal(result.ok && result.value, 'second')
  assert.equal(result.attempts, 2)
  assert.deepEqual(aborted, [true])
  assert.ok(performance.now() - started >= 30)
  const timedOut = await runStep(step(1, 20), now, () => new Promise(() => {}))
  assert.equal(!timedOut.ok && timedOut.error.code, 'ONEX_CORE_052_TIMEOUT')
  assert.match(!timedOut.ok ? timedOut.error.message : '', /hash_generation took longer than its 20 ms/)
})
