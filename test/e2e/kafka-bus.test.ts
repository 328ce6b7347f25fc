import assert from 'node:assert/strict'
import { describe, it, type TestContext } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { Admin, ConfigResourceTypes } from '@platformatic/kafka'
import { openKafkaBus } from '../../src/adapters/bus/kafka/kafka-bus.ts'
import { partitionFor } from '../../src/adapters/bus/partition.ts'
import { ConfigError, NotFoundError, UnavailableError } from '../../src/core/errors.ts'
import { parseEnvelope } from '../../src/core/events/envelope.ts'
import type { DeliveredEvent } from '../../src/ports/event-bus.ts'
import {
  freePortPair,
  kafkaSkip,
  numbered,
  openTestBus,
  testKafkaBrokers,
  uniqueGroup,
  uniqueTopic,
  waitFor,
} from '../helpers/kafka.ts'

/**
 * What the Kafka adapter does beyond the EventBus contract suite (test/contract/event-bus.test.ts runs
 * the shared cases): topic creation, consumer groups and rebalances, commits at stop, and failures
 * that only a real broker (or its absence) produces.
 */

const n = (e: DeliveredEvent) => e.envelope.payload['n'] as number

async function withTopic(t: TestContext, partitions: number) {
  const bus = await openTestBus(t)
  const topic = uniqueTopic('bus')
  await bus.ensureTopics([{ topic, partitions, retentionMs: 3_600_000 }])
  return { bus, topic }
}

describe('kafka bus', { skip: kafkaSkip }, () => {
  it('ensureTopics creates topics with their partitions and retention, and is idempotent', async (t) => {
    const bus = await openTestBus(t)
    const a = uniqueTopic('ensure-a')
    const b = uniqueTopic('ensure-b')
    const settings = [
      { topic: a, partitions: 4, retentionMs: 7_200_000 },
      { topic: b, partitions: 1, retentionMs: 86_400_000 },
    ]
    await bus.ensureTopics(settings)
    await bus.ensureTopics(settings)
    // another bus (another process) racing for the same topics finds them there
    const other = await openTestBus(t)
    await other.ensureTopics(settings)

    const admin = new Admin({ clientId: 'test-inspect', bootstrapBrokers: testKafkaBrokers!.split(',') })
    t.after(() => admin.close())
    const metadata = await admin.metadata({ topics: [a, b] })
    assert.equal(metadata.topics.get(a)?.partitionsCount, 4)
    assert.equal(metadata.topics.get(b)?.partitionsCount, 1)
    const configs = await admin.describeConfigs({
      resources: [a, b].map((resourceName) => ({
        resourceType: ConfigResourceTypes.TOPIC,
        resourceName,
        configurationKeys: ['retention.ms'],
      })),
    })
    const retention = Object.fromEntries(
      configs.map((c) => [c.resourceName, c.configs.find((x) => x.name === 'retention.ms')?.value]),
    )
    assert.deepEqual(retention, { [a]: '7200000', [b]: '86400000' })
  })

  it('keeps the order of events with the same key, across partitions handled concurrently', async (t) => {
    const { bus, topic } = await withTopic(t, 3)
    const perKey = new Map<string, number[]>()
    const keys = ['a', 'b', 'c', 'd', 'e', 'f', 'g']
    let total = 0
    await bus.subscribe({
      groupId: uniqueGroup('order'),
      topics: [topic],
      handler: async (e) => {
        if (n(e) % 50 === 0) await sleep(5) // a slow handler now and then must not reorder anything
        const list = perKey.get(e.key) ?? []
        list.push(n(e))
        perKey.set(e.key, list)
        total++
      },
    })
    const events = Array.from({ length: 700 }, (_, i) => numbered(i, keys[i % keys.length]))
    for (let i = 0; i < events.length; i += 100)
      await bus.publishBatch(events.slice(i, i + 100).map((envelope) => ({ topic, envelope })))
    await waitFor(() => total >= events.length, 30_000, 'every event')
    for (const key of keys) {
      const ns = perKey.get(key)!
      assert.equal(ns.length, 100)
      assert.deepEqual(
        ns,
        [...ns].sort((x, y) => x - y),
        `key ${key} in order`,
      )
    }
  })

  it('shares partitions among the subscriptions of a group, and gives a stopped one’s to the others', async (t) => {
    const { bus, topic } = await withTopic(t, 4)
    const group = uniqueGroup('share')
    const byMember = [new Map<number, number>(), new Map<number, number>()]
    const seen = new Set<number>()
    const handler = (member: number) => async (e: DeliveredEvent) => {
      byMember[member]!.set(n(e), e.partition)
      seen.add(n(e))
    }
    const first = await bus.subscribe({ groupId: group, topics: [topic], handler: handler(0) })
    await bus.subscribe({ groupId: group, topics: [topic], handler: handler(1) })
    let next = 0
    const publish = async (count: number) => {
      const batch = Array.from({ length: count }, () => numbered(next, `key-${next++}`))
      await bus.publishBatch(batch.map((envelope) => ({ topic, envelope })))
    }
    // until both members have events (the second join rebalances the group)
    const deadline = Date.now() + 30_000
    while (byMember[1]!.size === 0 || byMember[0]!.size === 0) {
      assert.ok(Date.now() < deadline, 'both members got partitions')
      await publish(20)
      await sleep(200)
    }
    await waitFor(() => seen.size === next, 20_000, 'the events published while the group formed')
    const partitionsOf = (m: number) => new Set(byMember[m]!.values())
    for (const p of partitionsOf(0))
      assert.ok(!partitionsOf(1).has(p), `partition ${p} has one owner at a time`)

    await first.stop()
    const before = next
    await publish(200)
    await waitFor(() => seen.size === next, 30_000, 'the events published after one member stopped')
    for (let i = before; i < next; i++)
      assert.ok(byMember[1]!.has(i), `event ${i} handled by the remaining member`)
  })

  it('loses nothing while members join and leave under a stream, slow handlers in flight', async (t) => {
    // small buffers: fetching pauses and resumes all along, rebalances included
    const buffers = { maxBufferedEvents: 40 }
    const bus = await openTestBus(t, buffers)
    const topic = uniqueTopic('bus')
    await bus.ensureTopics([{ topic, partitions: 6, retentionMs: 3_600_000 }])
    const group = uniqueGroup('churn')
    const seen = new Map<number, number>()
    const handler = async (e: DeliveredEvent) => {
      await sleep(2) // handlers in flight whenever a rebalance comes
      seen.set(n(e), (seen.get(n(e)) ?? 0) + 1)
    }
    await bus.subscribe({ groupId: group, topics: [topic], handler })
    let next = 0
    let streaming = true
    const stream = (async () => {
      while (streaming) {
        const batch = Array.from({ length: 20 }, () => numbered(next, `key-${next++ % 13}`))
        await bus.publishBatch(batch.map((envelope) => ({ topic, envelope })))
        await sleep(20)
      }
    })()
    // a second bus: other members, as in another process
    const other = await openTestBus(t, buffers)
    await sleep(500)
    const second = await other.subscribe({ groupId: group, topics: [topic], handler })
    await sleep(1_000)
    const third = await other.subscribe({ groupId: group, topics: [topic], handler })
    await sleep(1_000)
    await second.stop()
    await sleep(1_000)
    await third.stop()
    await sleep(500)
    streaming = false
    await stream
    await waitFor(() => seen.size === next, 30_000, `all ${next} events`).catch((error: Error) => {
      const missing = Array.from({ length: next }, (_, i) => i).filter((i) => !seen.has(i))
      throw new Error(`${error.message}: ${missing.length} missing, first ${missing.slice(0, 20).join(' ')}`)
    })
    const twice = [...seen.values()].filter((c) => c > 1).length
    t.diagnostic(`${next} events through 4 rebalances; ${twice} handled twice`)
    // again means handled but not yet committed when its partition moved: a few per rebalance. Commits
    // sent mid-rejoin once moved partitions back behind their new owner, and a run redid up to 45%.
    assert.ok(twice <= next / 5, `${twice} of ${next} handled twice`)
  })

  it('a member paused on a full buffer reads on when a rebalance takes the partition it had buffered', async (t) => {
    // A member holds at most maxBufferedEvents fetched events, then pauses fetching until its lanes
    // drain. Here its whole buffer is one partition's backlog (the handler blocks on the first event);
    // when a second member joins and gets that partition, the queue is dropped, and the member must
    // fetch again for the partition it kept. Which partition each member gets is the broker's choice,
    // so the scenario is tried in fresh groups until the buffered partition is the one that moves.
    const busA = await openTestBus(t, { maxBufferedEvents: 10 })
    const busB = await openTestBus(t)
    const topic = uniqueTopic('paused')
    await busA.ensureTopics([{ topic, partitions: 2, retentionMs: 3_600_000 }])
    const keyOf = (partition: number) => {
      for (let i = 0; ; i++) if (partitionFor(`k${i}`, 2) === partition) return `k${i}`
    }
    // released before the buses close: a stop waits for the handlers in flight
    const blocked = Promise.withResolvers<void>()
    // the backlog of partition 0, events 0 to 99
    let next = 0
    await busA.publishBatch(
      Array.from({ length: 100 }, () => ({ topic, envelope: numbered(next++, keyOf(0)) })),
    )
    try {
      for (let attempt = 1; attempt <= 8; attempt++) {
        const group = uniqueGroup('paused')
        const seenA = new Set<number>()
        const seenB = new Set<number>()
        let blocking = 0
        await busA.subscribe({
          groupId: group,
          topics: [topic],
          handler: async (e) => {
            if (e.partition === 0) {
              blocking++
              await blocked.promise
            }
            seenA.add(n(e))
          },
        })
        await waitFor(() => blocking === 1, 20_000, 'the first member blocked on partition 0')
        await sleep(300) // the fetch that filled the buffer has been pushed
        await busB.subscribe({
          groupId: group,
          topics: [topic],
          handler: async (e) => {
            seenB.add(n(e))
          },
        })
        const marker = next++
        await busA.publishBatch([{ topic, envelope: numbered(marker, keyOf(1)) }])
        await waitFor(() => seenA.has(marker) || seenB.has(marker), 20_000, 'the event on partition 1')
        if (seenA.has(marker)) {
          // the first member kept partition 1: the backlog of partition 0 moved to the second member
          await waitFor(() => seenB.size >= 100, 20_000, 'the backlog handled by the member that got it')
          t.diagnostic(`the buffered partition moved at attempt ${attempt}`)
          return
        }
      }
      assert.fail('in 8 groups the buffered partition never moved to the second member')
    } finally {
      blocked.resolve()
    }
  })

  it('stop() commits what was handled: the next subscription of the group starts after it', async (t) => {
    const { bus, topic } = await withTopic(t, 2)
    const group = uniqueGroup('resume')
    await bus.publishBatch(
      Array.from({ length: 100 }, (_, i) => ({ topic, envelope: numbered(i, `k${i % 5}`) })),
    )
    const firstSeen = new Set<number>()
    const first = await bus.subscribe({
      groupId: group,
      topics: [topic],
      handler: async (e) => {
        firstSeen.add(n(e))
      },
    })
    await waitFor(() => firstSeen.size === 100, 20_000, 'the first 100')
    await first.stop()

    await bus.publishBatch(
      Array.from({ length: 50 }, (_, i) => ({ topic, envelope: numbered(100 + i, `k${i % 5}`) })),
    )
    const secondSeen: number[] = []
    await bus.subscribe({
      groupId: group,
      topics: [topic],
      handler: async (e) => {
        secondSeen.push(n(e))
      },
    })
    await waitFor(() => secondSeen.length >= 50, 20_000, 'the next 50')
    await sleep(300)
    assert.deepEqual(
      [...secondSeen].sort((x, y) => x - y),
      Array.from({ length: 50 }, (_, i) => 100 + i),
      'nothing handled before stop() comes again',
    )
  })

  it('fromBeginning: false starts a new group at the end of the topic', async (t) => {
    const { bus, topic } = await withTopic(t, 1)
    await bus.publish(topic, numbered(1))
    const seen: number[] = []
    await bus.subscribe({
      groupId: uniqueGroup('latest'),
      topics: [topic],
      fromBeginning: false,
      handler: async (e) => {
        seen.push(n(e))
      },
    })
    await bus.publish(topic, numbered(2))
    await waitFor(() => seen.length >= 1, 10_000, 'the event published after subscribe')
    await sleep(200)
    assert.deepEqual(seen, [2])
  })

  it('dead-letters a message that is not an envelope at once, with the reason, and goes on', async (t) => {
    const { bus, topic } = await withTopic(t, 1)
    const seen: number[] = []
    let calls = 0
    await bus.subscribe({
      groupId: uniqueGroup('invalid'),
      topics: [topic],
      maxAttempts: 3,
      handler: async (e) => {
        calls++
        seen.push(n(e))
      },
    })
    const dead: DeliveredEvent[] = []
    await bus.publish(topic, numbered(1))
    await bus.publishRaw(topic, 'bad-key', new TextEncoder().encode('{"envelope_version":"1.0"}'))
    await bus.publishRaw(topic, null, new Uint8Array([0xff, 0xfe, 0x00]))
    await bus.publish(topic, numbered(2))
    await waitFor(() => seen.length === 2, 15_000, 'the valid events')
    await bus.subscribe({
      groupId: uniqueGroup('invalid-dlq'),
      topics: [`${topic}.dlq`],
      handler: async (e) => {
        dead.push(e)
      },
    })
    await waitFor(() => dead.length === 2, 15_000, 'two dead letters')
    assert.deepEqual(seen, [1, 2])
    assert.equal(calls, 2, 'the handler never saw the invalid messages')
    const [first, second] = dead.map((d) => parseEnvelope(d.envelope))
    assert.equal(first!.event_type, 'DEAD_LETTER')
    assert.equal(first!.payload['original_topic'], topic)
    assert.equal(first!.payload['original_key'], 'bad-key')
    assert.equal(first!.payload['original_data'], '{"envelope_version":"1.0"}')
    assert.equal(first!.payload['retry_attempts'], 0)
    assert.match(first!.payload['failure_reason'] as string, /ONEX_CORE_007_INVALID_INPUT: invalid envelope/)
    assert.equal(second!.payload['original_key'], null)
    assert.match(second!.payload['failure_reason'] as string, /not UTF-8 JSON/)
  })

  it('publishing to a topic that does not exist fails with NotFoundError, at once', async (t) => {
    const bus = await openTestBus(t)
    const started = Date.now()
    await assert.rejects(bus.publish(uniqueTopic('missing'), numbered(1)), NotFoundError)
    assert.ok(Date.now() - started < 5_000)
  })

  it('subscribing to a topic that does not exist fails with NotFoundError', async (t) => {
    const bus = await openTestBus(t)
    await assert.rejects(
      bus.subscribe({
        groupId: uniqueGroup('missing'),
        topics: [uniqueTopic('missing')],
        handler: async () => {},
      }),
      NotFoundError,
    )
  })

  it('refuses to publish an envelope that fails the schema', async (t) => {
    const { bus, topic } = await withTopic(t, 1)
    const bad = { ...numbered(1), event_id: 'not-a-uuid' }
    await assert.rejects(bus.publish(topic, bad), { code: 'ONEX_CORE_007_INVALID_INPUT' })
  })

  it('health() answers with the broker’s latency', async (t) => {
    const bus = await openTestBus(t)
    const health = await bus.health()
    assert.equal(health.ok, true)
    assert.ok(health.latencyMs >= 0 && health.latencyMs < 2_000)
  })
})

describe('kafka bus without a broker', () => {
  it('publish fails with UnavailableError after publishTimeoutMs, health says why, close returns', async (t) => {
    const port = await freePortPair() // nothing listens there
    const bus = await openKafkaBus({
      brokers: [`127.0.0.1:${port}`],
      publishTimeoutMs: 1_500,
      healthTimeoutMs: 500,
    })
    t.after(() => bus.close())
    const started = Date.now()
    await assert.rejects(bus.publish('any.topic', numbered(1)), (error: unknown) => {
      assert.ok(error instanceof UnavailableError)
      assert.match(error.message, /did not acknowledge within 1500 ms.*ECONNREFUSED/)
      return true
    })
    const took = Date.now() - started
    assert.ok(took >= 1_400 && took < 4_000, `gave up after ${took} ms`)
    const health = await bus.health()
    assert.equal(health.ok, false)
    assert.match(health.error ?? '', /ECONNREFUSED/)
    await bus.close()
    await assert.rejects(bus.publish('any.topic', numbered(2)), UnavailableError)
  })

  it('rejects brokers that are not host:port', async () => {
    await assert.rejects(openKafkaBus({ brokers: ['localhost'] }), ConfigError)
    await assert.rejects(openKafkaBus({ brokers: [] }), ConfigError)
  })
})
