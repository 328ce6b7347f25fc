import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { type TestContext, test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { InvalidInputError } from '../../src/core/errors.ts'
import { createEnvelope, envelopeKey, type OnexEnvelopeV1 } from '../../src/core/events/envelope.ts'
import type {
  BatchSubscribeOptions,
  DeadLetter,
  DeliveredEvent,
  EventBus,
  SubscribeOptions,
  Subscription,
} from '../../src/ports/event-bus.ts'
import {
  type BusBackend,
  inProcessBackend,
  kafkaBackend,
  publishRaw,
  skipReason,
  testKafkaBrokers,
  uniqueGroup,
  uniqueTopic,
} from '../helpers/bus-backends.ts'

/**
 * The EventBus port's contract: every adapter passes these cases. The in-process bus always runs;
 * Kafka runs when OMNINODE_TEST_KAFKA_BROKERS is set (npm run test:all). Every case uses topics and
 * groups of its own (random names), so runs on a shared broker never see each other's events.
 */
test('in-process', async (t) => {
  await contract(t, inProcessBackend)
})

test('kafka', { skip: skipReason('kafka') }, async (t) => {
  await contract(t, kafkaBackend(testKafkaBrokers!))
})

const source = { nodeId: 'contract-test', version: '0.0.1', environment: 'development' }

function envelope(seq: number, options: { key?: string; correlationId?: string } = {}): OnexEnvelopeV1 {
  return createEnvelope(
    source,
    {
      eventType: 'CONTRACT_TEST_EVENT',
      payload: { seq },
      partitionKey: options.key,
      correlationId: options.correlationId,
    },
    { eventId: randomUUID(), now: new Date() },
  )
}

const seqOf = (e: DeliveredEvent) => e.envelope.payload['seq'] as number

/** Polls `check` until it holds; fails after `timeoutMs`, saying what it was waiting for. */
async function eventually(what: string, check: () => boolean, timeoutMs: number): Promise<void> {
  const until = performance.now() + timeoutMs
  while (!check()) {
    if (performance.now() > until) assert.fail(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await sleep(5)
  }
}

interface Consumer {
  /** Every delivery, in the order the handler saw them (failed attempts included). */
  deliveries: DeliveredEvent[]
  /** The deliveries whose handler returned. */
  handled: DeliveredEvent[]
  subscription: Promise<Subscription>
  stop(): Promise<void>
}

/**
 * Subscribes with `options` (a new group unless one is given) and records what arrives; `handle` may
 * throw to fail a delivery. Stopped when the test ends.
 */
function consume(
  t: TestContext,
  bus: EventBus,
  options: Partial<SubscribeOptions> & { topics: readonly string[] },
  handle: (event: DeliveredEvent) => void | Promise<void> = () => {},
): Consumer {
  const deliveries: DeliveredEvent[] = []
  const handled: DeliveredEvent[] = []
  const subscription = bus.subscribe({
    groupId: uniqueGroup('contract'),
    maxAttempts: 3,
    retryBackoffMs: 10,
    ...options,
    handler: async (event) => {
      deliveries.push(event)
      await handle(event)
      handled.push(event)
    },
  })
  let stopping: Promise<void> | undefined
  const stop = () => {
    stopping ??= subscription.then((s) => s.stop())
    return stopping
  }
  t.after(stop)
  return { deliveries, handled, subscription, stop }
}

/** The DEAD_LETTER envelopes on `<topic>.dlq`, read by a group of their own. */
function deadLetters(t: TestContext, bus: EventBus, topic: string) {
  const consumer = consume(t, bus, { topics: [`${topic}.dlq`] })
  return {
    get envelopes() {
      return consumer.handled.map((e) => e.envelope)
    },
    get payloads() {
      return consumer.handled.map((e) => e.envelope.payload as unknown as DeadLetter)
    },
    consumer,
  }
}

interface BatchConsumer {
  /** Every call, in the order the handler saw them (failed calls included). */
  calls: DeliveredEvent[][]
  /** The events of calls that returned. */
  handled: DeliveredEvent[]
  subscription: Promise<Subscription>
  stop(): Promise<void>
}

/** consume() for subscribeBatch: records every batch; `handle` may throw to fail a call. */
function consumeBatches(
  t: TestContext,
  bus: EventBus,
  options: Partial<BatchSubscribeOptions> & { topics: readonly string[] },
  handle: (events: readonly DeliveredEvent[]) => void | Promise<void> = () => {},
): BatchConsumer {
  const calls: DeliveredEvent[][] = []
  const handled: DeliveredEvent[] = []
  const subscription = bus.subscribeBatch({
    groupId: uniqueGroup('contract-batch'),
    maxAttempts: 3,
    retryBackoffMs: 10,
    maxBatchSize: 50,
    ...options,
    handler: async (events) => {
      calls.push([...events])
      await handle(events)
      handled.push(...events)
    },
  })
  let stopping: Promise<void> | undefined
  const stop = () => {
    stopping ??= subscription.then((s) => s.stop())
    return stopping
  }
  t.after(stop)
  return { calls, handled, subscription, stop }
}

async function contract(t: TestContext, backend: BusBackend): Promise<void> {
  const bus = await backend.open(t)
  const patience = backend.patienceMs
  const topics = async (partitions: number, ...labels: string[]) => {
    const names = labels.map((l) => uniqueTopic(l))
    await bus.ensureTopics([
      ...names.map((topic) => ({ topic, partitions, retentionMs: 3_600_000 })),
      ...names.map((topic) => ({ topic: `${topic}.dlq`, partitions: 1, retentionMs: 3_600_000 })),
    ])
    return names
  }

  await t.test('health is ok', async () => {
    const health = await bus.health()
    assert.equal(health.ok, true, health.error)
    assert.equal(typeof health.latencyMs, 'number')
    assert.equal(bus.kind, backend.kind)
  })

  await t.test('publish and subscribe round-trip an envelope intact', async (t) => {
    const [topic] = await topics(1, 'roundtrip')
    const sent: OnexEnvelopeV1 = {
      ...envelope(1, { key: 'tenant-7', correlationId: randomUUID() }),
      causation_id: randomUUID(),
      source_instance: 'pod-1',
      region: 'eu-west-1',
      payload: { seq: 1, text: 'héllo ✓ "quoted"', nested: { list: [1, 'two', null, true] } },
      metadata: { trace: 'abc' },
      security: {
        algorithm: 'ed25519',
        signer_id: 'spiffe://omninode/test',
        payload_hash: 'ab'.repeat(32),
        signature: 'c2lnbmF0dXJl',
        signed_at: new Date().toISOString(),
      },
    }
    const c = consume(t, bus, { topics: [topic!] })
    await bus.publish(topic!, sent)
    await eventually('the event', () => c.handled.length === 1, patience)
    const [got] = c.handled
    assert.deepEqual(got!.envelope, sent)
    assert.equal(got!.topic, topic)
    assert.equal(got!.partition, 0)
    assert.equal(typeof got!.offset, 'bigint')
    assert.ok(got!.offset >= 0n)
    assert.equal(got!.key, 'tenant-7')
    assert.equal(got!.key, envelopeKey(sent))
    assert.equal(got!.attempt, 1)
  })

  await t.test('publish rejects an invalid envelope with InvalidInputError naming the field', async () => {
    const [topic] = await topics(1, 'invalid-publish')
    const { event_type: _, ...missing } = envelope(1)
    await assert.rejects(bus.publish(topic!, missing as OnexEnvelopeV1), (err: unknown) => {
      assert.ok(err instanceof InvalidInputError)
      assert.match(err.message, /event_type/)
      return true
    })
    await assert.rejects(
      bus.publishBatch([
        { topic: topic!, envelope: envelope(2) },
        { topic: topic!, envelope: { ...envelope(3), event_id: 'nope' } },
      ]),
      /event_id/,
    )
  })

  await t.test('publishBatch delivers every event, across topics', async (t) => {
    const [a, b] = await topics(2, 'batch-a', 'batch-b')
    const batch = Array.from({ length: 100 }, (_, i) => ({ topic: i % 2 ? b! : a!, envelope: envelope(i) }))
    const c = consume(t, bus, { topics: [a!, b!] })
    await bus.publishBatch(batch)
    await eventually('100 events', () => c.handled.length >= 100, patience)
    assert.equal(c.handled.length, 100)
    const byId = new Map(c.handled.map((e) => [e.envelope.event_id, e]))
    for (const { topic, envelope } of batch) {
      assert.deepEqual(byId.get(envelope.event_id)?.envelope, envelope)
      assert.equal(byId.get(envelope.event_id)?.topic, topic)
    }
  })

  await t.test('events with the same key keep their order, over several partitions', async (t) => {
    const [topic] = await topics(4, 'ordering')
    const keys = Array.from({ length: 12 }, (_, k) => `key-${k}`)
    const perKey = 25
    const c = consume(t, bus, { topics: [topic!] })
    for (let seq = 0; seq < perKey; seq++) {
      const round = keys.map((key) => ({ topic: topic!, envelope: envelope(seq, { key }) }))
      // some one at a time, the rest in batches
      if (seq % 5 === 0) for (const m of round) await bus.publish(m.topic, m.envelope)
      else await bus.publishBatch(round)
    }
    const total = keys.length * perKey
    await eventually(`${total} events`, () => c.handled.length >= total, patience)
    const partitionsUsed = new Set<number>()
    for (const key of keys) {
      const mine = c.handled.filter((e) => e.key === key)
      assert.deepEqual(
        mine.map(seqOf),
        Array.from({ length: perKey }, (_, i) => i),
        `order of ${key}`,
      )
      const partitions = new Set(mine.map((e) => e.partition))
      assert.equal(partitions.size, 1, `${key} stays on one partition`)
      partitionsUsed.add([...partitions][0]!)
      const offsets = mine.map((e) => e.offset)
      assert.deepEqual(
        offsets,
        [...offsets].sort((x, y) => (x < y ? -1 : 1)),
        `offsets of ${key} increase`,
      )
    }
    assert.ok(partitionsUsed.size > 1, `keys spread over partitions: ${[...partitionsUsed]}`)
  })

  await t.test('each consumer group sees every event', async (t) => {
    const [topic] = await topics(3, 'two-groups')
    const one = consume(t, bus, { topics: [topic!] })
    const two = consume(t, bus, { topics: [topic!] })
    const sent = Array.from({ length: 30 }, (_, i) => envelope(i, { key: `k${i % 7}` }))
    await bus.publishBatch(sent.map((e) => ({ topic: topic!, envelope: e })))
    const ids = sent.map((e) => e.event_id).sort()
    for (const [name, c] of [
      ['first', one],
      ['second', two],
    ] as const) {
      await eventually(`30 events in the ${name} group`, () => c.handled.length >= 30, patience)
      assert.deepEqual(c.handled.map((e) => e.envelope.event_id).sort(), ids, name)
    }
  })

  await t.test(
    'subscribers of one group split the partitions and together see each event once',
    async (t) => {
      const [topic] = await topics(4, 'split')
      const groupId = uniqueGroup('split')
      const a = consume(t, bus, { groupId, topics: [topic!] })
      const b = consume(t, bus, { groupId, topics: [topic!] })
      await Promise.all([a.subscription, b.subscription])
      // a broker may still be forming the group: publish rounds until both members have had events
      const sent: string[] = []
      const until = performance.now() + patience
      let round = 0
      while (a.handled.length === 0 || b.handled.length === 0) {
        if (performance.now() > until)
          assert.fail(`both members got events: ${a.handled.length}, ${b.handled.length}`)
        const batch = Array.from({ length: 40 }, (_, i) => envelope(i, { key: `r${round}-k${i}` }))
        sent.push(...batch.map((e) => e.event_id))
        await bus.publishBatch(batch.map((e) => ({ topic: topic!, envelope: e })))
        round++
        await eventually(
          `round ${round} delivered`,
          () => a.handled.length + b.handled.length >= sent.length,
          patience,
        )
      }
      const seen = [...a.handled, ...b.handled].map((e) => e.envelope.event_id)
      assert.equal(seen.length, sent.length, 'no event twice')
      assert.deepEqual([...new Set(seen)].sort(), [...sent].sort())
      if (backend.kind === 'in-process') {
        // the group was stable all along: each partition had one owner
        const pa = new Set(a.handled.map((e) => e.partition))
        const pb = new Set(b.handled.map((e) => e.partition))
        assert.deepEqual(
          [...pa].filter((p) => pb.has(p)),
          [],
        )
        assert.equal(pa.size + pb.size, 4)
      }
    },
  )

  await t.test('a failing handler is retried with its attempt number until it succeeds', async (t) => {
    const [topic] = await topics(1, 'retry')
    const sent = [envelope(0, { key: 'k' }), envelope(1, { key: 'k' }), envelope(2, { key: 'k' })]
    const c = consume(t, bus, { topics: [topic!], maxAttempts: 5, retryBackoffMs: 20 }, (event) => {
      if (seqOf(event) === 1 && event.attempt < 3) throw new Error(`transient failure ${event.attempt}`)
    })
    await bus.publishBatch(sent.map((e) => ({ topic: topic!, envelope: e })))
    await eventually('the event after the flaky one', () => c.handled.some((e) => seqOf(e) === 2), patience)
    assert.deepEqual(
      c.deliveries.filter((e) => seqOf(e) === 1).map((e) => e.attempt),
      [1, 2, 3],
    )
    assert.deepEqual(c.handled.map(seqOf), [0, 1, 2], 'once each, in order')
    for (const e of c.handled) assert.deepEqual(e.envelope, sent[seqOf(e)])
  })

  await t.test('a poison event goes to <topic>.dlq after maxAttempts and the next ones flow', async (t) => {
    const [topic] = await topics(1, 'poison')
    const poison = envelope(0, { key: 'k', correlationId: randomUUID() })
    const c = consume(t, bus, { topics: [topic!], maxAttempts: 3, retryBackoffMs: 10 }, (event) => {
      if (seqOf(event) === 0) throw new Error('poisoned payload')
    })
    const dlq = deadLetters(t, bus, topic!)
    const startedAt = Date.now()
    await bus.publish(topic!, poison)
    await bus.publishBatch([1, 2].map((seq) => ({ topic: topic!, envelope: envelope(seq, { key: 'k' }) })))
    await eventually('the events after the poison', () => c.handled.length >= 2, patience)
    await eventually('the dead letter', () => dlq.payloads.length >= 1, patience)
    assert.deepEqual(
      c.deliveries.filter((e) => seqOf(e) === 0).map((e) => e.attempt),
      [1, 2, 3],
    )
    assert.deepEqual(c.handled.map(seqOf), [1, 2])
    assert.equal(dlq.envelopes.length, 1)
    const [letter] = dlq.envelopes
    assert.equal(letter!.event_type, 'DEAD_LETTER')
    assert.equal(letter!.causation_id, poison.event_id)
    assert.equal(letter!.correlation_id, poison.correlation_id)
    const payload = dlq.payloads[0]!
    assert.deepEqual(Object.keys(payload).sort(), [
      'failure_reason',
      'failure_timestamp',
      'original_data',
      'original_key',
      'original_topic',
      'retry_attempts',
    ])
    assert.equal(payload.original_topic, topic)
    assert.equal(payload.original_key, 'k')
    assert.deepEqual(JSON.parse(payload.original_data), poison)
    assert.match(payload.failure_reason, /poisoned payload/)
    assert.equal(payload.retry_attempts, 3)
    const failedAt = Date.parse(payload.failure_timestamp)
    assert.ok(failedAt >= startedAt - 1000 && failedAt <= Date.now() + 1000, payload.failure_timestamp)
  })

  await t.test(
    'a message that is not a valid envelope is dead-lettered at once, naming the field',
    async (t) => {
      const [topic] = await topics(1, 'malformed')
      const c = consume(t, bus, { topics: [topic!], maxAttempts: 3 })
      const dlq = deadLetters(t, bus, topic!)
      const { event_type: _, ...noType } = envelope(0)
      const raw: Array<[string | null, string | Uint8Array]> = [
        ['k', 'not json at all'],
        ['k', JSON.stringify(noType)],
        ['k', JSON.stringify({ ...envelope(0), event_id: 'not-a-uuid' })],
        [null, new Uint8Array([0xff, 0xfe, 0x7b])],
      ]
      for (const [key, value] of raw) await publishRaw(bus, topic!, key, value)
      const valid = envelope(1, { key: 'k' })
      await bus.publish(topic!, valid)
      await eventually('the valid event', () => c.handled.length >= 1, patience)
      await eventually('4 dead letters', () => dlq.payloads.length >= 4, patience)
      assert.deepEqual(
        c.deliveries.map((e) => e.envelope),
        [valid],
        'the handler saw only the valid one',
      )
      const payloads = dlq.payloads
      assert.equal(payloads.length, 4)
      const reasons = [/JSON/, /event_type/, /event_id/, /UTF-8/]
      payloads.forEach((p, i) => {
        assert.match(p.failure_reason, reasons[i]!, `reason ${i}: ${p.failure_reason}`)
        assert.equal(p.original_topic, topic)
        assert.equal(p.original_key, raw[i]![0])
        assert.equal(p.retry_attempts, 0, 'no handler saw it')
        if (typeof raw[i]![1] === 'string') assert.equal(p.original_data, raw[i]![1])
      })
      for (const letter of dlq.envelopes) assert.equal(letter.event_type, 'DEAD_LETTER')
    },
  )

  await t.test('after stop(), a new subscriber of the group resumes after the last commit', async (t) => {
    const [topic] = await topics(1, 'resume')
    const groupId = uniqueGroup('resume')
    const sent = Array.from({ length: 20 }, (_, i) => envelope(i, { key: 'k' }))
    await bus.publishBatch(sent.map((e) => ({ topic: topic!, envelope: e })))
    // the first subscriber stops itself (without waiting for its own handler) after 8 events
    const first = consume(t, bus, { groupId, topics: [topic!] }, (event) => {
      if (seqOf(event) === 7) void first.stop()
    })
    await eventually('the first subscriber to get 8 events', () => first.handled.length >= 8, patience)
    await first.stop()
    const before = first.handled.map(seqOf)
    assert.deepEqual(
      before,
      Array.from({ length: before.length }, (_, i) => i),
    )
    const second = consume(t, bus, { groupId, topics: [topic!] })
    await eventually('the last event', () => second.handled.some((e) => seqOf(e) === 19), patience)
    const after = second.handled.map(seqOf)
    assert.deepEqual(
      [...before, ...after],
      Array.from({ length: 20 }, (_, i) => i),
      'no loss, no redelivery of committed events',
    )
  })

  await t.test('stop() waits for the handler in flight and commits its offset', async (t) => {
    const [topic] = await topics(1, 'stop-in-flight')
    const groupId = uniqueGroup('stop')
    let entered = false
    let finished = false
    let release!: () => void
    const gate = new Promise<void>((resolve) => {
      release = resolve
    })
    const first = consume(t, bus, { groupId, topics: [topic!] }, async (event) => {
      if (seqOf(event) !== 0) return
      entered = true
      await gate
      finished = true
    })
    await bus.publishBatch([0, 1].map((seq) => ({ topic: topic!, envelope: envelope(seq, { key: 'k' }) })))
    await eventually('the slow handler to start', () => entered, patience)
    let stopped = false
    const stopping = first.stop().then(() => {
      stopped = true
    })
    for (let i = 0; i < 20; i++) await new Promise(setImmediate)
    assert.equal(stopped, false, 'stop() waits for the handler')
    release()
    await stopping
    assert.equal(finished, true)
    assert.ok(!first.handled.some((e) => seqOf(e) === 1), 'nothing handled after stop')
    const second = consume(t, bus, { groupId, topics: [topic!] })
    await eventually('the event after the stopped one', () => second.handled.length >= 1, patience)
    assert.deepEqual(second.handled.map(seqOf), [1], 'the finished event was committed')
  })

  await t.test(
    'subscribeBatch delivers batches of one partition, in order, at most maxBatchSize',
    async (t) => {
      const [topic] = await topics(3, 'batches')
      const sent = Array.from({ length: 300 }, (_, i) => envelope(i, { key: `k${i % 5}` }))
      await bus.publishBatch(sent.map((e) => ({ topic: topic!, envelope: e })))
      const c = consumeBatches(t, bus, { topics: [topic!], maxBatchSize: 40 })
      await eventually('300 events', () => c.handled.length >= 300, patience)
      assert.equal(c.handled.length, 300, 'each event once')
      assert.deepEqual(c.handled.map((e) => e.envelope.event_id).sort(), sent.map((e) => e.event_id).sort())
      for (const batch of c.calls) {
        assert.ok(batch.length >= 1 && batch.length <= 40, `batch of ${batch.length}`)
        assert.equal(
          new Set(batch.map((e) => `${e.topic}:${e.partition}`)).size,
          1,
          'one partition per batch',
        )
        for (let i = 1; i < batch.length; i++)
          assert.ok(batch[i]!.offset > batch[i - 1]!.offset, 'offset order')
        for (const e of batch) assert.equal(e.attempt, 1)
      }
      assert.ok(
        c.calls.some((b) => b.length > 1),
        `events waiting were batched: ${c.calls.map((b) => b.length)}`,
      )
      for (let k = 0; k < 5; k++) {
        const mine = c.handled.filter((e) => e.key === `k${k}`).map(seqOf)
        assert.deepEqual(
          mine,
          [...mine].sort((x, y) => x - y),
          `order of k${k}`,
        )
      }
    },
  )

  await t.test(
    'subscribeBatch: events waiting on a partition arrive as one batch, the first not alone',
    async (t) => {
      const [topic] = await topics(1, 'batch-waiting')
      const sent = Array.from({ length: 30 }, (_, i) => envelope(i, { key: 'k' }))
      await bus.publishBatch(sent.map((e) => ({ topic: topic!, envelope: e })))
      const c = consumeBatches(t, bus, { topics: [topic!], maxBatchSize: 50 })
      await eventually('30 events', () => c.handled.length >= 30, patience)
      assert.deepEqual(
        c.calls.map((b) => b.length),
        [30],
        'one delivery: a batch handler pays per call (the reducer and the registry, a transaction)',
      )
    },
  )

  await t.test(
    'a failing batch is split: each event alone, the poison one dead-lettered, the rest handled',
    async (t) => {
      const [topic] = await topics(1, 'batch-poison')
      const sent = Array.from({ length: 6 }, (_, i) => envelope(i, { key: 'k' }))
      await bus.publishBatch(sent.map((e) => ({ topic: topic!, envelope: e })))
      const dlq = deadLetters(t, bus, topic!)
      const c = consumeBatches(t, bus, { topics: [topic!], maxAttempts: 2, retryBackoffMs: 10 }, (events) => {
        if (events.some((e) => seqOf(e) === 3)) throw new Error('poisoned payload')
      })
      await eventually('5 events handled', () => c.handled.length >= 5, patience)
      await eventually('the dead letter', () => dlq.payloads.length >= 1, patience)
      assert.deepEqual(c.handled.map(seqOf), [0, 1, 2, 4, 5], 'once each, in order, without the poison')
      const alone = c.calls.filter((b) => b.length === 1 && seqOf(b[0]!) === 3).map((b) => b[0]!.attempt)
      assert.deepEqual(alone, [1, 2], 'the poison retried alone up to maxAttempts')
      assert.equal(dlq.payloads.length, 1)
      assert.equal(JSON.parse(dlq.payloads[0]!.original_data).event_id, sent[3]!.event_id)
      assert.match(dlq.payloads[0]!.failure_reason, /poisoned payload/)
      assert.equal(dlq.payloads[0]!.retry_attempts, 2)
    },
  )

  await t.test(
    'subscribeBatch dead-letters an invalid envelope at once and delivers the others',
    async (t) => {
      const [topic] = await topics(1, 'batch-malformed')
      await bus.publish(topic!, envelope(0, { key: 'k' }))
      await publishRaw(bus, topic!, 'k', 'not json at all')
      await bus.publish(topic!, envelope(1, { key: 'k' }))
      const dlq = deadLetters(t, bus, topic!)
      const c = consumeBatches(t, bus, { topics: [topic!] })
      await eventually('2 events', () => c.handled.length >= 2, patience)
      await eventually('the dead letter', () => dlq.payloads.length >= 1, patience)
      assert.deepEqual(c.handled.map(seqOf), [0, 1])
      assert.match(dlq.payloads[0]!.failure_reason, /JSON/)
      assert.equal(dlq.payloads[0]!.retry_attempts, 0)
    },
  )

  await t.test(
    'subscribeBatch: a new subscriber of the group resumes after the committed batches',
    async (t) => {
      const [topic] = await topics(1, 'batch-resume')
      const groupId = uniqueGroup('batch-resume')
      const sent = Array.from({ length: 30 }, (_, i) => envelope(i, { key: 'k' }))
      await bus.publishBatch(sent.slice(0, 10).map((e) => ({ topic: topic!, envelope: e })))
      const first = consumeBatches(t, bus, { groupId, topics: [topic!] })
      await eventually('the first 10', () => first.handled.length >= 10, patience)
      await first.stop()
      await bus.publishBatch(sent.slice(10).map((e) => ({ topic: topic!, envelope: e })))
      const second = consumeBatches(t, bus, { groupId, topics: [topic!], maxBatchSize: 7 })
      await eventually('the last event', () => second.handled.some((e) => seqOf(e) === 29), patience)
      assert.deepEqual(
        [...first.handled, ...second.handled].map(seqOf),
        Array.from({ length: 30 }, (_, i) => i),
        'no loss, no redelivery of committed events',
      )
      assert.ok(second.calls.every((b) => b.length <= 7))
    },
  )

  await t.test('close() stops subscriptions and is idempotent', async (t) => {
    const own = await backend.open(t)
    const [topic] = await topics(1, 'close')
    const c = consume(t, own, { topics: [topic!] })
    await own.publish(topic!, envelope(0))
    await eventually('the event', () => c.handled.length === 1, patience)
    await Promise.all([own.close(), own.close()])
    await own.close()
    await assert.rejects(own.publish(topic!, envelope(1)))
  })
}
