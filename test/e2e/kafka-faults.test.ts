import assert from 'node:assert/strict'
import { test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { openKafkaBus } from '../../src/adapters/bus/kafka/kafka-bus.ts'
import { UnavailableError } from '../../src/core/errors.ts'
import { parseEnvelope } from '../../src/core/events/envelope.ts'
import type { DeliveredEvent } from '../../src/ports/event-bus.ts'
import {
  kafkaSkip,
  numbered,
  openTestBus,
  startOwnKafka,
  uniqueGroup,
  uniqueTopic,
  waitFor,
} from '../helpers/kafka.ts'

/**
 * Kafka failures, for real.
 *
 * The outage runs on a broker of its own (scripts/infra/kafka.sh with its own OMNINODE_KAFKA_DIR and
 * ports), so halting it disturbs no other suite; it costs a second JVM for about 40 s, mostly idle
 * (about 400 MB of memory; the machine has plenty, and the CPU it takes is the two start-ups).
 * The poison message runs on the shared test broker.
 */

test('a broker halted for 10 s under a stream of events: no acknowledged event is lost, consumers resume', {
  skip: kafkaSkip,
  timeout: 150_000,
}, async (t) => {
  const phase = (() => {
    let last = Date.now()
    return (name: string) => {
      t.diagnostic(`${name}: ${Date.now() - last} ms`)
      last = Date.now()
    }
  })()
  const kafka = await startOwnKafka(t)
  phase('own broker started')
  const log: string[] = []
  const logger = {
    debug() {},
    info() {},
    warn: (o: object, m?: string) => log.push(`${m} ${JSON.stringify(o)}`),
    error: (o: object, m?: string) => log.push(`${m} ${JSON.stringify(o)}`),
  }
  // producer side and consumer side in separate buses, as in separate processes
  const producing = await openKafkaBus({ brokers: [kafka.brokers], publishTimeoutMs: 60_000, logger })
  const consuming = await openKafkaBus({ brokers: [kafka.brokers], logger })
  t.after(() => Promise.all([producing.close(), consuming.close()]))

  const topic = uniqueTopic('outage')
  await producing.ensureTopics([{ topic, partitions: 3, retentionMs: 3_600_000 }])

  const seen = new Map<number, number>()
  await consuming.subscribe({
    groupId: uniqueGroup('outage'),
    topics: [topic],
    handler: async (e) => {
      const n = e.envelope.payload['n'] as number
      seen.set(n, (seen.get(n) ?? 0) + 1)
    },
  })

  // a steady stream: one event every 10 ms, each publish awaited on its own, patient enough (60 s) to
  // ride out the outage; and a second one, every 20 ms, whose publishes give up after 8 s: those made
  // early in the outage fail, the later ones land after the restart
  const acked = new Set<number>()
  const failed: unknown[] = []
  const pending = new Set<Promise<void>>()
  const bounded = await openKafkaBus({ brokers: [kafka.brokers], publishTimeoutMs: 8_000 })
  t.after(() => bounded.close())
  const boundedAcked = new Set<number>()
  const boundedFailed: unknown[] = []
  let next = 0
  let nextBounded = 1_000_000
  let streaming = true
  const publishing = (bus: typeof producing, n: number, ok: Set<number>, ko: unknown[]) => {
    const p = bus
      .publish(topic, numbered(n, `key-${n % 7}`))
      .then(
        () => void ok.add(n),
        (error: unknown) => void ko.push(error),
      )
      .finally(() => pending.delete(p))
    pending.add(p)
  }
  const stream = (async () => {
    for (let tick = 0; streaming; tick++) {
      publishing(producing, next++, acked, failed)
      if (tick % 2 === 0) publishing(bounded, nextBounded++, boundedAcked, boundedFailed)
      await sleep(10)
    }
  })()

  await waitFor(() => seen.size >= 50, 20_000, 'events flowing before the outage')
  phase('events flowing')
  await kafka.halt()
  phase('halted')
  const haltedAt = Date.now()
  const publishedBeforeRestart = () => next

  // while it is away: health says so, and a publish with a short limit gives up in time
  const health = await producing.health()
  assert.equal(health.ok, false)
  const impatient = await openKafkaBus({ brokers: [kafka.brokers], publishTimeoutMs: 1_500 })
  t.after(() => impatient.close())
  const started = Date.now()
  await assert.rejects(impatient.publish(topic, numbered(-1)), UnavailableError)
  const gaveUpAfter = Date.now() - started
  assert.ok(gaveUpAfter >= 1_400 && gaveUpAfter < 5_000, `publish gave up after ${gaveUpAfter} ms`)

  await sleep(Math.max(0, 10_000 - (Date.now() - haltedAt)))
  const lastBeforeRestart = publishedBeforeRestart()
  phase('outage')
  await kafka.start()
  phase('restarted')
  const outageMs = Date.now() - haltedAt
  await sleep(3_000)
  streaming = false
  await stream
  await Promise.all([...pending])
  phase('3 s more of events, every publish settled')

  // both producers' acknowledged events: a late publish of the bounded one may be acknowledged last
  await waitFor(
    () => [...acked, ...boundedAcked].every((n) => seen.has(n)),
    60_000,
    'every acknowledged event to be consumed',
  )
  phase('every acknowledged event consumed')
  const missing = [...acked, ...boundedAcked].filter((n) => !seen.has(n))
  assert.deepEqual(missing, [], 'no acknowledged event lost')
  assert.ok(boundedFailed.length > 0, 'publishes with an 8 s limit made early in the outage failed')
  for (const error of boundedFailed) assert.ok(error instanceof UnavailableError)
  assert.ok(boundedAcked.size > 0, 'and the later ones landed after the restart')
  // a publish that failed may still have been written, and one may be written twice (a request
  // whose answer was lost is sent again), never more: retries must not multiply events
  const counts = [...seen.values()]
  assert.ok(Math.max(...counts) <= 2, `an event was handled ${Math.max(...counts)} times`)
  assert.deepEqual(failed, [], `every publish rode out the ${outageMs} ms outage`)
  assert.equal(acked.size, next)
  assert.ok(
    [...seen.keys()].some((n) => n > lastBeforeRestart && n < 1_000_000),
    'the consumer resumed: it handled events published after the restart',
  )
  const duplicates = [...seen.values()].filter((count) => count > 1).length
  t.diagnostic(
    `outage ${outageMs} ms; ${next} published, all acknowledged; with an 8 s limit ${boundedAcked.size} ` +
      `acknowledged, ${boundedFailed.length} failed; ${seen.size} consumed, ${duplicates} twice`,
  )
  for (const line of log.slice(0, 8)) t.diagnostic(line.slice(0, 240))
})

test('a poison message is dead-lettered after maxAttempts while the rest keep flowing', {
  skip: kafkaSkip,
  timeout: 60_000,
}, async (t) => {
  const bus = await openTestBus(t)
  const topic = uniqueTopic('poison')
  await bus.ensureTopics([{ topic, partitions: 2, retentionMs: 3_600_000 }])

  const poison = numbered(13, 'same-key')
  const attempts: Array<{ attempt: number; at: number }> = []
  const handled: Array<{ n: number; partition: number; at: number }> = []
  await bus.subscribe({
    groupId: uniqueGroup('poison'),
    topics: [topic],
    maxAttempts: 4,
    retryBackoffMs: 200,
    handler: async (e: DeliveredEvent) => {
      if (e.envelope.event_id === poison.event_id) {
        attempts.push({ attempt: e.attempt, at: Date.now() })
        throw new Error('cannot digest event 13')
      }
      handled.push({ n: e.envelope.payload['n'] as number, partition: e.partition, at: Date.now() })
    },
  })

  // before the poison, on its partition: 0..9; the poison; after it on the same key: 14..23
  await bus.publishBatch(Array.from({ length: 10 }, (_, n) => ({ topic, envelope: numbered(n, 'same-key') })))
  await bus.publish(topic, poison)
  await bus.publishBatch(
    Array.from({ length: 10 }, (_, i) => ({ topic, envelope: numbered(14 + i, 'same-key') })),
  )
  await waitFor(() => attempts.length >= 1, 15_000, 'the first attempt at the poison')
  // meanwhile, on the other partition, events keep flowing
  const poisonPartition = handled.find((h) => h.n === 0)!.partition
  let other = 100
  while (attempts.length < 4) {
    const key = `other-${other}`
    await bus.publish(topic, numbered(other++, key))
    await sleep(50)
  }
  const otherDuringRetries = handled.filter(
    (h) => h.partition !== poisonPartition && h.at > attempts[0]!.at && h.at < attempts[3]!.at,
  )
  assert.ok(otherDuringRetries.length > 0, 'the other partition flowed while the poison was retried')

  const dead: DeliveredEvent[] = []
  await bus.subscribe({
    groupId: uniqueGroup('poison-dlq'),
    topics: [`${topic}.dlq`],
    handler: async (e) => {
      dead.push(e)
    },
  })
  await waitFor(
    () => handled.filter((h) => h.n >= 14 && h.n < 24).length === 10,
    15_000,
    'the events after the poison',
  )
  await waitFor(() => dead.length === 1, 15_000, 'the dead letter')

  assert.deepEqual(
    attempts.map((a) => a.attempt),
    [1, 2, 3, 4],
  )
  const gaps = attempts.slice(1).map((a, i) => a.at - attempts[i]!.at)
  for (const [i, gap] of gaps.entries()) assert.ok(gap >= 200 * 2 ** i - 5, `backoff ${i}: ${gap} ms`)
  const samePartition = handled.filter((h) => h.partition === poisonPartition).map((h) => h.n)
  const poisonAt = samePartition.indexOf(14)
  assert.deepEqual(samePartition.slice(0, poisonAt), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9], 'in order before')
  assert.deepEqual(
    samePartition.slice(poisonAt, poisonAt + 10),
    Array.from({ length: 10 }, (_, i) => 14 + i),
    'in order after',
  )
  assert.ok(
    handled.find((h) => h.n === 14)!.at >= attempts[3]!.at,
    'the partition moved on only after the poison was dead-lettered',
  )

  const letter = parseEnvelope(dead[0]!.envelope)
  assert.equal(letter.event_type, 'DEAD_LETTER')
  assert.equal(letter.causation_id, poison.event_id)
  assert.equal(dead[0]!.key, 'same-key')
  assert.deepEqual(
    { ...letter.payload, failure_timestamp: undefined, original_data: undefined },
    {
      original_topic: topic,
      original_key: 'same-key',
      original_data: undefined,
      failure_reason: 'Error: cannot digest event 13',
      failure_timestamp: undefined,
      retry_attempts: 4,
    },
  )
  assert.deepEqual(parseEnvelope(letter.payload['original_data']), poison, 'the original bytes, as text')
})
