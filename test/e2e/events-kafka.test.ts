import assert from 'node:assert/strict'
import { test } from 'node:test'
import pino from 'pino'
import { openKafkaBus } from '../../src/adapters/bus/kafka/kafka-bus.ts'
import { topicName } from '../../src/core/events/topics.ts'
import type { DeliveredEvent } from '../../src/ports/event-bus.ts'
import { startTestBridge } from '../helpers/bridge.ts'
import { testDatabaseUrl } from '../helpers/database-backends.ts'
import { kafkaSkip, startOwnKafka, uniqueGroup } from '../helpers/kafka.ts'
import { until } from '../helpers/until.ts'

// biome-ignore lint/suspicious/noExplicitAny: responses are checked field by field below
type Json = Record<string, any>

const created = topicName('development', 'metadataStampCreated')
const relay = { pollIntervalMs: 100, initialBackoffMs: 50, maxBackoffMs: 500 }

/**
 * The whole event backbone on a real Kafka, as `KAFKA_BROKERS` selects it: the bridge's own topics,
 * the outbox riding out a broker outage, and a dead letter going round (consumer, `.dlq` topic, DLQ
 * monitor, event log, replay). On PostgreSQL when the test server is there (the production pair),
 * else PGlite. The broker is one of the test's own, so halting it disturbs no other suite.
 */
test('the bridge on Kafka: stamping events, an outage, a dead letter and its replay', {
  skip: kafkaSkip,
  timeout: 180_000,
}, async (t) => {
  const kafka = await startOwnKafka(t)
  const bridge = await startTestBridge(t, {
    backend: testDatabaseUrl ? 'postgres' : 'pglite',
    relay,
    config: { kafkaBrokers: [kafka.brokers], dlqAlertThreshold: 0 },
    logger: pino({ level: 'silent' }),
  })
  const { app } = bridge
  const call = async (method: 'GET' | 'POST', url: string, payload?: unknown) => {
    const res = await app.inject({ method, url, payload: payload as Json })
    return { status: res.statusCode, body: res.json() as Json }
  }
  const stamp = async (content: string) => {
    const res = await call('POST', '/stamp', { content, namespace: 'omninode.kafka' })
    assert.equal(res.status, 200, JSON.stringify(res.body))
    return res.body.data.file_hash as string
  }
  const backlog = async () =>
    (await bridge.db.query<{ n: number }>('SELECT count(*)::int AS n FROM event_outbox')).rows[0]!.n

  // another process's consumer, on a bus of its own
  const consumer = await openKafkaBus({ brokers: [kafka.brokers], clientId: 'omninode-test-reader' })
  t.after(() => consumer.close())
  const seen: DeliveredEvent[] = []
  await consumer.subscribe({
    groupId: uniqueGroup('reader'),
    topics: [created],
    handler: async (event) => {
      seen.push(event)
    },
  })
  const seenHashes = () => seen.map((e) => e.envelope.payload['file_hash'] as string)

  await t.test('a stamp reaches a Kafka consumer as METADATA_STAMP_CREATED', async () => {
    const health = (await call('GET', '/health')).body
    assert.equal(health.data.components.events.status, 'up')
    assert.match(health.data.components.events.detail, /^kafka, outbox backlog \d+/)
    const hash = await stamp('first over kafka\n')
    await until('the event on Kafka', () => seenHashes().includes(hash), 60_000)
    const event = seen.find((e) => e.envelope.payload['file_hash'] === hash)!
    assert.equal(event.envelope.event_type, 'METADATA_STAMP_CREATED')
    assert.equal(event.envelope.partition_key, hash)
    assert.equal(event.envelope.payload['namespace'], 'omninode.kafka')
  })

  await t.test('stamps committed while Kafka is down get their events once it is back', async () => {
    await kafka.halt()
    const hashes: string[] = []
    for (let n = 0; n < 10; n++) hashes.push(await stamp(`stamped during the outage ${n}\n`))
    assert.ok((await backlog()) > 0, 'the events wait in the outbox')
    await until(
      '/health to say the bus is down',
      async () => {
        const events = (await call('GET', '/health')).body.data.components.events
        return events.status === 'down'
      },
      10_000,
    )
    assert.equal(
      seenHashes().filter((h) => hashes.includes(h)).length,
      0,
      'nothing was published while the broker was away',
    )

    await kafka.start()
    await until('every event of the outage', () => hashes.every((h) => seenHashes().includes(h)), 90_000)
    await until('an empty outbox', async () => (await backlog()) === 0, 10_000)
    const health = (await call('GET', '/health')).body.data.components.events
    assert.equal(health.status, 'up')
    // the relay publishes in commit order, so each partition delivers its share in commit order
    const partitions = new Map<number, string[]>()
    for (const e of seen) {
      const hash = e.envelope.payload['file_hash'] as string
      if (!hashes.includes(hash)) continue
      const list = partitions.get(e.partition) ?? []
      if (!list.includes(hash)) list.push(hash)
      partitions.set(e.partition, list)
    }
    for (const [partition, list] of partitions)
      assert.deepEqual(
        list,
        hashes.filter((h) => list.includes(h)),
        `partition ${partition} in commit order`,
      )
  })

  await t.test('a poison event is dead-lettered on Kafka, monitored, logged and replayed', async () => {
    let failures = 0
    const fussy = await bridge.events.subscribe({
      groupId: uniqueGroup('fussy'),
      topics: [created],
      maxAttempts: 2,
      retryBackoffMs: 10,
      fromBeginning: false,
      handle: async (event) => {
        if (event.envelope.payload['file_path'] === 'poison.md') {
          failures++
          throw new Error('the fussy consumer refuses')
        }
      },
    })
    assert.ok(fussy)
    // a group's first join takes a few seconds on a broker: wait until it consumes a harmless stamp
    await until(
      'the fussy consumer to join',
      async () => {
        await stamp(`warm-up ${Date.now()}\n`)
        await bridge.events.recorder.flush()
        const { body } = await call('GET', '/events?direction=consumed&limit=1000')
        return body.data.events.some((e: Json) => e.status === 'ok')
      },
      60_000,
    )

    const res = await call('POST', '/stamp', { content: 'poison\n', file_path: 'poison.md' })
    assert.equal(res.status, 200)
    const poisonHash = res.body.data.file_hash
    await until(
      'the dead letter in the event log',
      async () => (await call('GET', '/events?direction=dead_lettered')).body.data.count === 1,
      60_000,
    )
    assert.equal(failures, 2, 'two attempts, then the dead-letter topic')
    const letter = (await call('GET', '/events?direction=dead_lettered')).body.data.events[0]
    assert.equal(letter.topic, created)
    assert.equal(letter.error, 'Error: the fussy consumer refuses', 'the reason as the bus gave it')
    assert.equal(letter.payload.dlq_topic, `${created}.dlq`)
    const metrics = (await app.inject({ method: 'GET', url: '/metrics' })).body
    assert.match(metrics, new RegExp(`omninode_dlq_messages_total\\{topic="${created}\\.dlq"\\} 1`))
    assert.match(metrics, new RegExp(`omninode_dlq_alerts_total\\{topic="${created}\\.dlq"\\} 1`))

    await fussy.stop()
    // The reader is another group and may lag behind the original. A count taken before the original
    // arrived, with original and replay then arriving in one fetch, never saw exactly one more copy
    // (a CI run timed out so). Count once the reader has the original; the relay is at least once.
    const copies = () => seen.filter((e) => e.envelope.payload['file_hash'] === poisonHash).length
    await until('the reader to see the original poison event', () => copies() >= 1, 60_000)
    const before = copies()
    const replay = await call('POST', '/events/dlq/replay', { topic: `${created}.dlq` })
    assert.equal(replay.status, 200, JSON.stringify(replay.body))
    assert.equal(replay.body.data.replayed.length, 1)
    await until('the replayed event on its original topic', () => copies() > before, 60_000)
  })
})
