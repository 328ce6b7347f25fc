import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { once } from 'node:events'
import { type AddressInfo, createServer } from 'node:net'
import { test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { withEventLog } from '../../src/adapters/events/consumers.ts'
import { createEnvelope } from '../../src/core/events/envelope.ts'
import { topicName } from '../../src/core/events/topics.ts'
import { startTestBridge } from '../helpers/bridge.ts'
import { runOmninode } from '../helpers/child-server.ts'
import { RecordingBus } from '../helpers/recording-bus.ts'
import { until } from '../helpers/until.ts'

/** The stamping node alone: these cases count the event log exactly, and the reducer would add its own. */
const stampingOnly = { nodes: ['stamping' as const] }

const created = topicName('development', 'metadataStampCreated')
const relay = { pollIntervalMs: 50, initialBackoffMs: 10, maxBackoffMs: 50 }
const line =
  /^\d{4}-\d\d-\d\dT[\d:.]+Z {2}published +METADATA_STAMP_CREATED {2}\S+metadata-stamp-created\.v1 {2}event=[0-9a-f-]{36} {2}correlation=[0-9a-f-]{36}/

/** `omninode events tail` and `omninode events dlq` as real processes against a bridge listening here. */
test('omninode events tail and dlq, against a running bridge', async (t) => {
  const bus = new RecordingBus()
  const bridge = await startTestBridge(t, { bus, relay, config: stampingOnly })
  const url = await bridge.app.listen({ host: '127.0.0.1', port: 0 })
  let n = 0
  const stamp = (headers: Record<string, string> = {}) =>
    bridge.app.inject({ method: 'POST', url: '/stamp', payload: { content: `stamp ${n++}\n` }, headers })
  const logged = async () =>
    (await bridge.events.store.list({ direction: 'published', limit: 1000 })).filter(
      (e) => e.topic === created,
    )

  await t.test('tail follows new events, one line each, and stops after --count', async () => {
    await stamp()
    await until('the first event logged', async () => (await logged()).length === 1)
    const tail = runOmninode([
      'events',
      'tail',
      '--url',
      url,
      '--lines',
      '0',
      '--count',
      '3',
      '--interval',
      '100',
    ])
    let done = false
    void tail.then(() => {
      done = true
    })
    // keep stamping until the tail has seen three new events (it needs a moment to start)
    for (let i = 0; i < 100 && !done; i++) {
      await stamp()
      await sleep(150)
    }
    const result = await tail
    assert.equal(result.code, 0, result.stderr)
    const lines = result.stdout.trim().split('\n')
    assert.equal(lines.length, 3, result.stdout)
    for (const l of lines) assert.match(l, line)
    const first = (await logged())[0]!
    assert.ok(!result.stdout.includes(first.event_id), '--lines 0: what was there before is not printed')
    const ids = lines.map((l) => /event=(\S+)/.exec(l)![1])
    assert.equal(new Set(ids).size, 3, 'each event once')
  })

  await t.test('tail prints the latest --lines first; filters by correlation id; --json', async () => {
    const latest = (await logged()).slice(-2)
    const recent = await runOmninode(['events', 'tail', '--url', url, '--lines', '2', '--count', '2'])
    assert.equal(recent.code, 0, recent.stderr)
    assert.deepEqual(
      recent.stdout
        .trim()
        .split('\n')
        .map((l) => /event=(\S+)/.exec(l)![1]),
      latest.map((e) => e.event_id),
    )

    const correlation = randomUUID()
    await stamp({ 'x-correlation-id': correlation, 'x-session-id': 'cli-session' })
    await until('the correlated event logged', async () =>
      (await logged()).some((e) => e.correlation_id === correlation),
    )
    const json = await runOmninode([
      'events',
      'tail',
      '--url',
      url,
      '--correlation-id',
      correlation,
      '--lines',
      '5',
      '--count',
      '1',
      '--json',
    ])
    assert.equal(json.code, 0, json.stderr)
    const entry = JSON.parse(json.stdout)
    assert.equal(entry.correlation_id, correlation)
    assert.equal(entry.session_id, 'cli-session')
    assert.equal(entry.event_type, 'METADATA_STAMP_CREATED')
  })

  await t.test(
    'dlq lists dead letters; --replay republishes them once; an unreadable one is skipped (exit 1)',
    async () => {
      const fussy = await bus.subscribe({
        groupId: 'fussy',
        topics: [created],
        maxAttempts: 1,
        fromBeginning: false,
        handler: withEventLog(bridge.events.recorder, 'fussy', async () => {
          throw new Error('no thanks')
        }),
      })
      await stamp()
      await stamp()
      // and one whose original message was not an envelope at all
      await bus.publish(
        `${created}.dlq`,
        createEnvelope(
          { nodeId: 'kafka', version: '1', environment: 'development' },
          {
            eventType: 'DEAD_LETTER',
            payload: {
              original_topic: created,
              original_key: null,
              original_data: '{"half":',
              failure_reason: 'invalid envelope: is not UTF-8 JSON',
              failure_timestamp: new Date().toISOString(),
              retry_attempts: 0,
            },
          },
          { eventId: randomUUID(), now: new Date() },
        ),
      )
      await until('three dead letters', async () => {
        const rows = await bridge.events.store.list({ direction: 'dead_lettered', limit: 10 })
        return rows.length === 3
      })
      await fussy.stop()

      const list = await runOmninode(['events', 'dlq', '--url', url])
      assert.equal(list.code, 0, list.stderr)
      const lines = list.stdout.trim().split('\n')
      assert.equal(lines.length, 4, list.stdout)
      const stampLetter = lines.find((l) => l.includes('METADATA_STAMP_CREATED'))!
      assert.match(
        stampLetter,
        /^\s*\d+ {2}\S+ {2}\S+metadata-stamp-created\.v1 {2}METADATA_STAMP_CREATED .*attempts=1 {2}not replayed {2}reason: no thanks$/,
      )
      assert.equal(lines.filter((l) => /UNREADABLE_EVENT .*reason: invalid envelope/.test(l)).length, 1)
      assert.equal(lines.filter((l) => /METADATA_STAMP_CREATED .*reason: no thanks$/.test(l)).length, 2)
      assert.equal(lines[3], '3 dead letters, 3 not replayed')

      const before = bus.topic(created).length
      const replay = await runOmninode([
        'events',
        'dlq',
        '--url',
        url,
        '--replay',
        '--topic',
        `${created}.dlq`,
      ])
      assert.equal(replay.code, 1, 'one could not be replayed')
      assert.match(replay.stdout, /^replayed {2}\d+ {2}event=\S+ {2}to \S+metadata-stamp-created\.v1$/m)
      assert.match(replay.stdout, /^skipped {3}\d+ .*invalid envelope/m)
      assert.match(replay.stdout, /2 replayed, 1 skipped\n$/)
      await until('the two originals republished', () => bus.topic(created).length === before + 2)

      const again = await runOmninode(['events', 'dlq', '--url', url, '--replay'])
      assert.match(again.stdout, /^0 replayed, 1 skipped$/m)
      const after = await runOmninode(['events', 'dlq', '--url', url, '--json', '--limit', '10'])
      const entries = after.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l))
      assert.equal(entries.filter((e) => e.replayed_at !== null).length, 2)
    },
  )
})

test('omninode events without a bridge to talk to: exit 2 and the reason', async () => {
  // a port nobody listens on: bind one, then free it
  const server = createServer().listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as AddressInfo
  server.close()
  const result = await runOmninode(['events', 'dlq', '--url', `http://127.0.0.1:${port}`])
  assert.equal(result.code, 2)
  assert.equal(result.stderr, `omninode: cannot reach the bridge at http://127.0.0.1:${port}: ECONNREFUSED\n`)
  const bad = await runOmninode(['events', 'tail', '--interval', '5'])
  assert.equal(bad.code, 2)
  assert.match(bad.stderr, /--interval/)
})
