import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { test } from 'node:test'
import { promisify } from 'node:util'
import {
  createEnvelope,
  envelopeKey,
  type OnexEnvelopeV1,
  parseEnvelope,
} from '../../src/core/events/envelope.ts'
import type { DeliveredEvent } from '../../src/ports/event-bus.ts'
import {
  ensureKcat,
  kafkaSkip,
  numbered,
  openTestBus,
  testKafkaBrokers,
  testSource,
  uniqueGroup,
  uniqueTopic,
  waitFor,
} from '../helpers/kafka.ts'

/**
 * The wire format, checked by a client that shares no code with ours: Debian's kcat (librdkafka).
 * What we publish, kcat reads as OnexEnvelopeV1 JSON keyed by envelopeKey; what kcat writes (with the
 * Java client's partitioner, murmur2), our subscriber receives, on the partition our producer picks
 * for the same key.
 */
const skip = kafkaSkip || ensureKcat() || false
const run = promisify(execFile)

interface KcatRecord {
  topic: string
  partition: number
  offset: number
  key: string | null
  payload: string | null
}

async function kcatRead(topic: string): Promise<KcatRecord[]> {
  const { stdout } = await run(
    'kcat',
    ['-C', '-b', testKafkaBrokers!, '-t', topic, '-o', 'beginning', '-e', '-q', '-J'],
    { timeout: 30_000, maxBuffer: 64 << 20 },
  )
  return stdout
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as KcatRecord)
}

async function kcatWrite(topic: string, lines: string[]): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const child = execFile(
      'kcat',
      ['-P', '-b', testKafkaBrokers!, '-t', topic, '-K', '\t', '-X', 'partitioner=murmur2_random'],
      { timeout: 30_000 },
      (error) => (error ? reject(error) : resolve()),
    )
    child.stdin!.end(`${lines.join('\n')}\n`)
  })
}

test('kcat reads what we publish as OnexEnvelopeV1, keyed by envelopeKey', { skip }, async (t) => {
  const bus = await openTestBus(t)
  const topic = uniqueTopic('wire-out')
  await bus.ensureTopics([{ topic, partitions: 3, retentionMs: 3_600_000 }])

  const correlated = createEnvelope(
    testSource,
    { eventType: 'CORRELATED_ONLY', payload: { n: -1 }, correlationId: randomUUID() },
    { eventId: randomUUID(), now: new Date() },
  )
  const plain = createEnvelope(
    { nodeId: 'node-without-key', version: '1', environment: 'development' },
    { eventType: 'NO_KEY_AT_ALL', payload: { n: -2 }, metadata: { note: 'ü ✓ 𝄞' } },
    { eventId: randomUUID(), now: new Date() },
  )
  const batch = Array.from({ length: 60 }, (_, n) => numbered(n, `key-${n % 6}`))
  await bus.publish(topic, correlated)
  await bus.publish(topic, plain)
  await bus.publishBatch(batch.map((envelope) => ({ topic, envelope })))
  const published = new Map([correlated, plain, ...batch].map((e) => [e.event_id, e]))

  const records = await kcatRead(topic)
  assert.equal(records.length, published.size)
  const partitionOfKey = new Map<string, number>()
  for (const record of records) {
    const envelope = parseEnvelope(record.payload)
    assert.deepEqual(
      envelope,
      published.get(envelope.event_id),
      'the bytes are the envelope, field for field',
    )
    assert.equal(record.key, envelopeKey(envelope))
    const seenOn = partitionOfKey.get(record.key!)
    if (seenOn !== undefined) assert.equal(record.partition, seenOn, `key ${record.key} on one partition`)
    partitionOfKey.set(record.key!, record.partition)
  }
  assert.equal(
    partitionOfKey.get(correlated.correlation_id!),
    records.find((r) => r.key === correlated.correlation_id)?.partition,
  )
  assert.ok(
    records.some((r) => r.key === 'node-without-key'),
    'no partition_key, no correlation: source_node_id',
  )
  // per key, kcat sees the batch in the order it was published
  for (let k = 0; k < 6; k++) {
    const ns = records
      .filter((r) => r.key === `key-${k}`)
      .sort((a, b) => a.offset - b.offset)
      .map((r) => parseEnvelope(r.payload).payload['n'] as number)
    assert.deepEqual(
      ns,
      [...ns].sort((a, b) => a - b),
    )
    assert.equal(ns.length, 10)
  }
})

test('our subscriber receives an envelope kcat wrote, on the partition our producer uses for its key', {
  skip,
}, async (t) => {
  const bus = await openTestBus(t)
  const topic = uniqueTopic('wire-in')
  await bus.ensureTopics([{ topic, partitions: 5, retentionMs: 3_600_000 }])
  const keys = ['alpha', 'bravo', 'charlie', 'delta', 'echo', 'foxtrot', 'golf']

  const received: DeliveredEvent[] = []
  await bus.subscribe({
    groupId: uniqueGroup('wire-in'),
    topics: [topic],
    handler: async (event) => {
      received.push(event)
    },
  })
  // ours first: where our producer puts each key
  for (const key of keys) await bus.publish(topic, numbered(0, key, 'FROM_OMNINODE'))
  // then kcat's, with the same keys and the Java client's partitioner
  const fromKcat: OnexEnvelopeV1[] = keys.map((key) =>
    createEnvelope(
      { nodeId: 'kcat', version: '1.7', environment: 'development' },
      { eventType: 'FROM_KCAT', payload: { key, text: 'tab\tand "quotes"' }, partitionKey: key },
      { eventId: randomUUID(), now: new Date() },
    ),
  )
  await kcatWrite(
    topic,
    fromKcat.map((e) => `${e.partition_key}\t${JSON.stringify(e)}`),
  )
  await waitFor(() => received.length >= keys.length * 2, 20_000, 'both sets of events')

  for (const [i, key] of keys.entries()) {
    const ours = received.find((e) => e.key === key && e.envelope.event_type === 'FROM_OMNINODE')
    const theirs = received.find((e) => e.key === key && e.envelope.event_type === 'FROM_KCAT')
    assert.ok(ours && theirs, `both events of key ${key}`)
    assert.deepEqual(theirs.envelope, fromKcat[i])
    assert.equal(theirs.partition, ours.partition, `key ${key}: Java-compatible partitioning`)
    assert.equal(theirs.attempt, 1)
  }
})
