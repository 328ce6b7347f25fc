import assert from 'node:assert/strict'
import { test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { Recurring } from '../../../src/core/recurring.ts'

test('runs at start when asked, one run at a time; stop aborts the run in flight and waits for it', async () => {
  const events: string[] = []
  let runs = 0
  const errors: unknown[] = []
  const recurring = new Recurring(
    async (signal) => {
      const n = ++runs
      events.push(`start ${n}`)
      // a long run: ticks meanwhile are skipped, not queued behind it
      while (!signal.aborted) await sleep(5)
      events.push(`aborted ${n}`)
    },
    { everyMs: 10, atStart: true, onError: (err) => errors.push(err) },
  )
  recurring.start()
  await sleep(60)
  assert.equal(runs, 1, 'the ticks during the run did not start another')
  await recurring.stop()
  assert.deepEqual(events, ['start 1', 'aborted 1'], 'stop waited for the run to end')
  await sleep(30)
  assert.equal(runs, 1, 'nothing runs after stop')
  assert.deepEqual(errors, [])
})

test('without atStart the first run is on the first tick; a failed run is reported and the next tick runs again', async () => {
  let runs = 0
  const errors: unknown[] = []
  const recurring = new Recurring(
    async () => {
      runs++
      throw new Error(`run ${runs} failed`)
    },
    { everyMs: 20, onError: (err) => errors.push(err) },
  )
  recurring.start()
  assert.equal(runs, 0)
  await sleep(75)
  await recurring.stop()
  assert.ok(runs >= 2, `${runs} runs`)
  assert.equal(errors.length, runs)
  assert.match(String(errors[0]), /run 1 failed/)
})
