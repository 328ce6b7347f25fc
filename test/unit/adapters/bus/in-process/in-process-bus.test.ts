import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { describe, it, type TestContext } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { InProcessBus } from '../../../../../src/adapters/bus/in-process/in-process-bus.ts'
import { InvalidInputError, UnavailableError } from '../../../../../src/core/errors.ts'
import { createEnvelope, type OnexEnvelopeV1 } from '../../../../../src/core/events/envelope.ts'
import type { DeliveredEvent, SubscribeOptions } from '../../../../../src/ports/event-bus.ts'

/** What the in-process bus does beyond the contract (test/contract/event-bus.test.ts). */

const source = { nodeId: 'unit', version: '1', environment: 'development' }
const envelope = (seq: number, key = 'k'): OnexEnvelopeV1 =>
  createEnvelope(
    source,
    { eventType: 'UNIT_EVENT', payload: { seq }, partitionKey: key },
    { eventId: randomUUID(), now: new Date() },
  )
const seqOf = (e: DeliveredEvent) => e.envelope.payload['seq'] as number

function openBus(t: TestContext, options: ConstructorParameters<typeof InProcessBus>[0] = {}) {
  const bus = new InProcessBus(options)
  t.after(() => bus.close())
  return bus
}

async function until(what: string, check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = performance.now() + timeoutMs
  while (!check()) {
    if (performance.now() > deadline) assert.fail(`timed out waiting for ${what}`)
    await sleep(2)
  }
}

async function consume(
  bus: InProcessBus,
  options: Partial<SubscribeOptions> & { topics: readonly string[] },
  handle: (e: DeliveredEvent) => void | Promise<void> = () => {},
) {
  const deliveries: DeliveredEvent[] = []
  const handled: DeliveredEvent[] = []
  const subscription = await bus.subscribe({
    groupId: options.groupId ?? randomUUID(),
    ...options,
    handler: async (e) => {
      deliveries.push(e)
      await handle(e)
      handled.push(e)
    },
  })
  return { deliveries, handled, subscription }
}

describe('InProcessBus', () => {
  it('a retry waiting in its backoff is abandoned by stop(): uncommitted, redelivered from attempt 1', async (t) => {
    const bus = openBus(t)
    const groupId = 'g'
    const first = await consume(bus, { groupId, topics: ['t'], retryBackoffMs: 60_000 }, () => {
      throw new Error('fails')
    })
    await bus.publish('t', envelope(0))
    await until('the first attempt', () => first.deliveries.length === 1)
    const started = performance.now()
    await first.subscription.stop()
    assert.ok(performance.now() - started < 5_000, 'stop() did not wait out the backoff')
    const second = await consume(bus, { groupId, topics: ['t'] })
    await until('the redelivery', () => second.handled.length === 1)
    assert.equal(second.handled[0]!.attempt, 1)
    assert.equal(second.handled[0]!.offset, 0n)
  })

  it('stop() during a failing attempt does not wait out the backoff', async (t) => {
    const bus = openBus(t)
    let release!: () => void
    const gate = new Promise<void>((resolve) => {
      release = resolve
    })
    let entered = false
    const c = await consume(bus, { topics: ['t'], retryBackoffMs: 60_000 }, async () => {
      entered = true
      await gate
      throw new Error('fails after a while')
    })
    await bus.publish('t', envelope(0))
    await until('the handler', () => entered)
    const stopping = c.subscription.stop()
    release()
    const started = performance.now()
    await stopping
    assert.ok(performance.now() - started < 5_000)
    assert.equal(c.deliveries.length, 1)
  })

  it('a member joining moves partitions; one in backoff restarts with its new owner', async (t) => {
    const bus = openBus(t)
    await bus.ensureTopics([{ topic: 't', partitions: 2, retentionMs: 0 }])
    const groupId = 'g'
    const first = await consume(bus, { groupId, topics: ['t'], retryBackoffMs: 60_000 }, () => {
      throw new Error('fails')
    })
    // one event per partition
    const keys = ['a', 'b', 'c', 'd', 'e', 'f'].map((k) => [k, envelope(0, k)] as const)
    await bus.publishBatch(keys.map(([, e]) => ({ topic: 't', envelope: e })))
    await until('both partitions tried', () => new Set(first.deliveries.map((e) => e.partition)).size === 2)
    const second = await consume(bus, { groupId, topics: ['t'] })
    await until('the second member handles its partition', () => second.handled.length > 0)
    const moved = second.handled[0]!.partition
    assert.equal(second.handled[0]!.attempt, 1)
    assert.ok(second.handled.every((e) => e.partition === moved))
    await first.subscription.stop()
    await until(
      'the second member takes both',
      () => new Set(second.handled.map((e) => e.partition)).size === 2,
    )
    await until('every event handled', () => second.handled.length === keys.length)
  })

  it('deals partitions round-robin, again when a member stops', async (t) => {
    const bus = openBus(t)
    await bus.ensureTopics([{ topic: 't', partitions: 6, retentionMs: 0 }])
    const groupId = 'g'
    const members = [
      await consume(bus, { groupId, topics: ['t'] }),
      await consume(bus, { groupId, topics: ['t'] }),
      await consume(bus, { groupId, topics: ['t'] }),
    ]
    const publishKeys = async (n: number) => {
      const batch = Array.from({ length: n }, (_, i) => ({ topic: 't', envelope: envelope(i, `key-${i}`) }))
      await bus.publishBatch(batch)
    }
    await publishKeys(300)
    await until('300 events', () => members.reduce((n, m) => n + m.handled.length, 0) === 300)
    const owned = members.map((m) => new Set(m.handled.map((e) => e.partition)))
    assert.deepEqual(
      owned.map((s) => s.size),
      [2, 2, 2],
    )
    await members[2]!.subscription.stop()
    for (const m of members) m.handled.length = 0
    await publishKeys(300)
    await until('300 more', () => members[0]!.handled.length + members[1]!.handled.length === 300)
    assert.equal(members[2]!.handled.length, 0)
    assert.deepEqual(
      members.slice(0, 2).map((m) => new Set(m.handled.map((e) => e.partition)).size),
      [3, 3],
    )
  })

  it('keeps retainPerPartition messages for new groups, and all that a known group has not read', async (t) => {
    const bus = openBus(t, { retainPerPartition: 16 })
    for (let i = 0; i < 100; i++) await bus.publish('t', envelope(i))
    // nobody read these: only the newest 16 (to 18) are kept
    const fresh = await consume(bus, { topics: ['t'] })
    await until('the newest message', () => fresh.handled.some((e) => seqOf(e) === 99))
    assert.ok(fresh.handled.length >= 16 && fresh.handled.length <= 18, `${fresh.handled.length}`)
    assert.equal(seqOf(fresh.handled[0]!), 100 - fresh.handled.length)
    // a group that read up to 100 and stopped keeps everything after that
    const lagging = await consume(bus, { groupId: 'lagging', topics: ['t'], fromBeginning: false })
    await lagging.subscription.stop()
    for (let i = 100; i < 300; i++) await bus.publish('t', envelope(i))
    await until('the fresh group to read on', () => fresh.handled.some((e) => seqOf(e) === 299))
    const back = await consume(bus, { groupId: 'lagging', topics: ['t'] })
    await until('the backlog', () => back.handled.length === 200)
    assert.deepEqual(
      back.handled.map(seqOf),
      Array.from({ length: 200 }, (_, i) => 100 + i),
    )
  })

  it('fromBeginning: false starts a new group at the end', async (t) => {
    const bus = openBus(t)
    await bus.publish('t', envelope(0))
    const late = await consume(bus, { topics: ['t'], fromBeginning: false })
    await bus.publish('t', envelope(1))
    await until('the new event', () => late.handled.length === 1)
    assert.equal(seqOf(late.handled[0]!), 1)
  })

  it('creates unknown topics with 1 partition; ensureTopics adds partitions and rebalances', async (t) => {
    const bus = openBus(t)
    const c = await consume(bus, { topics: ['t'] })
    const keys = Array.from({ length: 40 }, (_, i) => `key-${i}`)
    await bus.publishBatch(keys.map((k) => ({ topic: 't', envelope: envelope(0, k) })))
    await until('40 events', () => c.handled.length === 40)
    assert.ok(c.handled.every((e) => e.partition === 0))
    await bus.ensureTopics([{ topic: 't', partitions: 3, retentionMs: 0 }])
    await bus.ensureTopics([{ topic: 't', partitions: 2, retentionMs: 0 }]) // never shrinks
    await bus.publishBatch(keys.map((k) => ({ topic: 't', envelope: envelope(1, k) })))
    await until('40 more', () => c.handled.length === 80)
    assert.deepEqual([...new Set(c.handled.slice(40).map((e) => e.partition))].sort(), [0, 1, 2])
  })

  it('delivers a frozen snapshot: later changes by the publisher do not travel', async (t) => {
    const bus = openBus(t)
    const sent = envelope(0)
    const c = await consume(bus, { topics: ['t'] })
    await bus.publish('t', sent)
    sent.payload['seq'] = 99
    await until('the event', () => c.handled.length === 1)
    const got = c.handled[0]!.envelope
    assert.equal(got.payload['seq'], 0)
    assert.ok(Object.isFrozen(got) && Object.isFrozen(got.payload))
    assert.throws(() => {
      got.payload['seq'] = 1
    }, TypeError)
  })

  it('delivers what JSON would carry; refuses what JSON cannot carry', async (t) => {
    const bus = openBus(t)
    const c = await consume(bus, { topics: ['t'] })
    const at = new Date('2026-01-02T03:04:05.678Z')
    await bus.publish('t', { ...envelope(0), payload: { seq: 0, at, gone: undefined } })
    await until('the event', () => c.handled.length === 1)
    assert.deepEqual(c.handled[0]!.envelope.payload, { seq: 0, at: at.toISOString() })
    await assert.rejects(bus.publish('t', { ...envelope(1), payload: { big: 1n } }), (err: unknown) => {
      assert.ok(err instanceof InvalidInputError)
      assert.match(err.message, /cannot be written as JSON/)
      return true
    })
  })

  it('publishBatch appends nothing when one envelope is invalid', async (t) => {
    const bus = openBus(t)
    const c = await consume(bus, { topics: ['t'] })
    await assert.rejects(
      bus.publishBatch([
        { topic: 't', envelope: envelope(0) },
        { topic: 't', envelope: { ...envelope(1), environment: '' } },
      ]),
      InvalidInputError,
    )
    await bus.publish('t', envelope(2))
    await until('the valid event', () => c.handled.length === 1)
    assert.equal(seqOf(c.handled[0]!), 2)
  })

  it('publishBatch untilConsumed resolves once every live group committed, handled or dead-lettered', async (t) => {
    const bus = openBus(t)
    await bus.ensureTopics([{ topic: 't', partitions: 2, retentionMs: 0 }])
    let release: () => void = () => {}
    const gate = new Promise<void>((resolve) => {
      release = resolve
    })
    const slow = await consume(bus, { topics: ['t'] }, () => gate)
    const failing = await consume(bus, { topics: ['t'], maxAttempts: 2, retryBackoffMs: 1 }, () => {
      throw new Error('poison')
    })
    // a group whose only member left keeps its offsets, but nobody runs it: it is not waited for
    const gone = await consume(bus, { topics: ['t'] })
    await gone.subscription.stop()
    let resolved = false
    const keys = Array.from({ length: 10 }, (_, i) => `key-${i}`)
    const publishing = bus
      .publishBatch(
        keys.map((k, i) => ({ topic: 't', envelope: envelope(i, k) })),
        { untilConsumed: true },
      )
      .then(() => {
        resolved = true
      })
    await until('every event dead-lettered by the failing group', () => failing.deliveries.length === 20)
    await sleep(20)
    assert.equal(resolved, false, 'the slow group has not committed')
    release()
    await publishing
    assert.equal(slow.handled.length, 10)
    // without the option, publish does not wait for consumers
    let unblock: () => void = () => {}
    const blocking = new Promise<void>((resolve) => {
      unblock = resolve
    })
    const blocked = await consume(bus, { topics: ['u'] }, () => blocking)
    await bus.publishBatch([{ topic: 'u', envelope: envelope(0) }])
    await until('the blocked delivery', () => blocked.deliveries.length === 1)
    assert.equal(blocked.handled.length, 0)
    unblock()
  })

  it('publishBatch untilConsumed does not outlive the bus: close() releases it', async (t) => {
    const bus = new InProcessBus()
    t.after(() => bus.close())
    const c = await consume(bus, { topics: ['t'], retryBackoffMs: 60_000 }, () => {
      throw new Error('fails')
    })
    const publishing = bus.publishBatch([{ topic: 't', envelope: envelope(0) }], { untilConsumed: true })
    await until('the first attempt', () => c.deliveries.length === 1)
    await bus.close()
    await publishing
  })

  it('a raw message that is a valid envelope is delivered, keyed by the envelope when it had no key', async (t) => {
    const bus = openBus(t)
    const c = await consume(bus, { topics: ['t'] })
    const e = { ...envelope(0, 'env-key'), unknown_field: true }
    await bus.publishRaw('t', null, new TextEncoder().encode(JSON.stringify(e)))
    await until('the event', () => c.handled.length === 1)
    assert.equal(c.handled[0]!.key, 'env-key')
    assert.equal('unknown_field' in c.handled[0]!.envelope, false)
  })

  it('other partitions keep flowing while one retries', async (t) => {
    const bus = openBus(t)
    await bus.ensureTopics([{ topic: 't', partitions: 2, retentionMs: 0 }])
    let stuck = -1
    const c = await consume(bus, { topics: ['t'], retryBackoffMs: 60_000 }, (e) => {
      if (stuck === -1) stuck = e.partition
      if (e.partition === stuck) throw new Error('stuck')
    })
    const keys = Array.from({ length: 20 }, (_, i) => `key-${i}`)
    await bus.publishBatch(keys.map((k) => ({ topic: 't', envelope: envelope(0, k) })))
    await until('the other partition', () => c.handled.length > 0)
    assert.ok(c.handled.every((e) => e.partition !== stuck))
  })

  it('lets timers run while it works through a backlog', async (t) => {
    const bus = openBus(t, { retainPerPartition: 50_000 })
    const n = 20_000
    const batch = Array.from({ length: n }, (_, i) => ({ topic: 't', envelope: envelope(i) }))
    await bus.publishBatch(batch)
    let handledWhenTimerRan = -1
    const c = await consume(bus, { topics: ['t'] })
    setImmediate(() => {
      handledWhenTimerRan = c.handled.length
    })
    await until('the backlog', () => c.handled.length === n)
    assert.ok(handledWhenTimerRan >= 0 && handledWhenTimerRan < n, `${handledWhenTimerRan}`)
  })

  it('calls no handler before subscribe() has returned', async (t) => {
    const bus = openBus(t)
    await bus.publish('t', envelope(0))
    let subscription: { stop(): Promise<void> } | undefined
    let sawSubscription: boolean | undefined
    subscription = await bus.subscribe({
      groupId: 'g',
      topics: ['t'],
      handler: async () => {
        sawSubscription = subscription !== undefined
      },
    })
    await until('the event', () => sawSubscription !== undefined)
    assert.equal(sawSubscription, true)
  })

  it('checks its options and subscriptions', async (t) => {
    assert.throws(() => new InProcessBus({ retainPerPartition: 0 }), InvalidInputError)
    assert.throws(
      () => new InProcessBus({ source: { nodeId: '', version: '1', environment: 'development' } }),
      /source_node_id/,
    )
    const bus = openBus(t)
    const handler = async () => {}
    await assert.rejects(bus.subscribe({ groupId: '', topics: ['t'], handler }), /groupId/)
    await assert.rejects(bus.subscribe({ groupId: 'g', topics: [], handler }), /topics/)
    await assert.rejects(
      bus.subscribe({ groupId: 'g', topics: ['t'], handler, maxAttempts: 0 }),
      /maxAttempts/,
    )
    await assert.rejects(bus.ensureTopics([{ topic: 't', partitions: 0, retentionMs: 0 }]), InvalidInputError)
  })

  it('after close(): unhealthy, and publish and subscribe are refused', async (t) => {
    const bus = openBus(t)
    await bus.close()
    assert.deepEqual(await bus.health(), { ok: false, latencyMs: 0, error: 'the event bus is closed' })
    await assert.rejects(bus.publish('t', envelope(0)), UnavailableError)
    await assert.rejects(bus.publishRaw('t', null, 'x'), UnavailableError)
    await assert.rejects(
      bus.subscribe({ groupId: 'g', topics: ['t'], handler: async () => {} }),
      UnavailableError,
    )
  })
})
