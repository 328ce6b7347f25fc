import assert from 'node:assert/strict'
import { test } from 'node:test'
import { DlqAlarm } from '../../../../src/core/events/dlq-alarm.ts'

test('more than the threshold within the window raises one alert per window and topic', () => {
  const alarm = new DlqAlarm({ threshold: 3, windowMs: 1000 })
  const a = 'dev.a.dlq'
  const verdicts = [0, 100, 200, 300, 400, 500].map((t) => alarm.observe(a, t))
  assert.deepEqual(
    verdicts.map((v) => v.count),
    [1, 2, 3, 4, 5, 6],
  )
  assert.deepEqual(
    verdicts.map((v) => v.alert),
    [false, false, false, true, false, false],
    'the fourth dead letter crosses 3; the flood after it is quiet',
  )
  assert.equal(alarm.observe('dev.b.dlq', 500).alert, false, 'topics are counted apart')
  // a window after the alert, still above the threshold: one more alert
  assert.deepEqual(alarm.observe(a, 1300), { count: 3, alert: false }, '400, 500 and 1300 are within')
  assert.deepEqual(alarm.observe(a, 1310), { count: 4, alert: true })
})

test('arrivals older than the window do not count', () => {
  const alarm = new DlqAlarm({ threshold: 2, windowMs: 1000 })
  for (const t of [0, 600, 1200, 1800, 2400]) assert.equal(alarm.observe('t', t).alert, false)
  assert.equal(alarm.observe('t', 2400).count, 3)
  assert.equal(alarm.observe('t', 2401).count, 4)
})

test('a long flood keeps its memory to the window', () => {
  const alarm = new DlqAlarm({ threshold: 10, windowMs: 100 })
  let last = { count: 0, alert: false }
  for (let t = 0; t < 100_000; t++) last = alarm.observe('t', t)
  assert.equal(last.count, 100)
})

test('a threshold of 0 alerts on the first dead letter; bad options are refused', () => {
  assert.equal(new DlqAlarm({ threshold: 0, windowMs: 10 }).observe('t', 0).alert, true)
  assert.throws(() => new DlqAlarm({ threshold: -1, windowMs: 10 }), RangeError)
  assert.throws(() => new DlqAlarm({ threshold: 1, windowMs: 0 }), RangeError)
})
