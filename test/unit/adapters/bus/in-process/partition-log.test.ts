import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { Entry, PartitionLog } from '../../../../../src/adapters/bus/in-process/partition-log.ts'

const entry = (i: number) => new Entry(`k${i}`, `v${i}`, undefined)

function reader(position: number, active = true) {
  const r = { position, active, woken: 0, wake: () => r.woken++ }
  return r
}

/** Whether `promise` has settled after the microtasks queued so far ran. */
async function settled(promise: Promise<unknown>): Promise<boolean> {
  let done = false
  void promise.then(() => {
    done = true
  })
  await new Promise(setImmediate)
  return done
}

describe('PartitionLog', () => {
  it('gives consecutive offsets and finds entries by offset', () => {
    const log = new PartitionLog(0, 100)
    assert.equal(log.append(entry(0)), 0)
    assert.equal(log.append(entry(1)), 1)
    assert.equal(log.end, 2)
    assert.equal(log.at(1)?.value, 'v1')
    assert.equal(log.at(2), undefined)
  })

  it('keeps at least `retain` messages, trimming in steps of an eighth', () => {
    const log = new PartitionLog(0, 64)
    for (let i = 0; i < 1000; i++) log.append(entry(i))
    assert.equal(log.end, 1000)
    assert.ok(log.entries.length >= 64 && log.entries.length < 64 + 8, `${log.entries.length}`)
    assert.equal(log.at(log.start)?.value, `v${log.start}`)
    assert.equal(log.at(999)?.value, 'v999')
  })

  it('never drops what a reader has not committed', () => {
    const log = new PartitionLog(0, 10)
    const slow = reader(5)
    log.readers.add(slow)
    for (let i = 0; i < 500; i++) log.append(entry(i))
    assert.ok(log.start <= 5, `${log.start}`)
    assert.equal(log.at(5)?.value, 'v5')
    assert.equal(log.entries.length, log.end - log.start)
    slow.position = 400
    for (let i = 500; i < 520; i++) log.append(entry(i))
    assert.ok(log.start <= 400 && log.start > 5, `${log.start}`)
    assert.equal(log.at(400)?.value, 'v400')
  })

  it('wakes readers once per turn, however many messages arrived', async () => {
    const log = new PartitionLog(0, 10)
    const r = reader(0)
    log.readers.add(r)
    for (let i = 0; i < 50; i++) log.append(entry(i))
    assert.equal(r.woken, 0)
    await Promise.resolve()
    assert.equal(r.woken, 1)
  })

  it('untilConsumed waits for every active reader to commit past the offset', async () => {
    const log = new PartitionLog(0, 100)
    const a = reader(0)
    const b = reader(0)
    const idle = reader(0, false)
    log.readers.add(a).add(b).add(idle)
    for (let i = 0; i < 5; i++) log.append(entry(i))
    const third = log.untilConsumed(2)
    const last = log.untilConsumed(4)
    a.position = 5
    log.settle()
    assert.equal(await settled(third), false, 'b has not committed offset 2')
    b.position = 3
    log.settle()
    assert.equal(await settled(third), true)
    assert.equal(await settled(last), false, 'b has not committed offset 4')
    // b's subscriber leaves: nobody live reads the partition any more, so nobody is waited for
    b.active = false
    log.settle()
    assert.equal(await settled(last), true)
    // an idle reader alone (no live subscriber) never holds a publisher
    assert.equal(await settled(log.untilConsumed(log.append(entry(5)))), false, 'a is active, at 5')
    a.active = false
    assert.equal(await settled(log.untilConsumed(5)), true)
  })
})
