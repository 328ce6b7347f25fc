import { execFile } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { mkdtempSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { TestContext } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { type KafkaBus, type KafkaBusOptions, openKafkaBus } from '../../src/adapters/bus/kafka/kafka-bus.ts'
import { createEnvelope, type OnexEnvelopeV1 } from '../../src/core/events/envelope.ts'
import { ensureDebianTool } from './debian-tool.ts'

/** The shared test broker (npm run test:all starts it with scripts/infra/kafka.sh). */
export const testKafkaBrokers = process.env['OMNINODE_TEST_KAFKA_BROKERS']

/** The reason Kafka suites skip, or false when they can run. */
export const kafkaSkip: string | false =
  testKafkaBrokers === undefined || testKafkaBrokers === ''
    ? 'OMNINODE_TEST_KAFKA_BROKERS not set: run npm run test:all'
    : false

export const testSource = { nodeId: 'kafka-test', version: '0.0.0-test', environment: 'development' }

/** A topic name no other test uses. */
export function uniqueTopic(prefix: string): string {
  return `test.${prefix}.${randomUUID().slice(0, 8)}`
}

export function uniqueGroup(prefix: string): string {
  return `test-${prefix}-${randomUUID().slice(0, 8)}`
}

/** An envelope numbered `n` (payload.n), keyed by `key` when given. */
export function numbered(n: number, key?: string, eventType = 'TEST_EVENT'): OnexEnvelopeV1 {
  return createEnvelope(
    testSource,
    { eventType, payload: { n }, partitionKey: key },
    { eventId: randomUUID(), now: new Date() },
  )
}

/** A Kafka bus on `brokers` (the shared test broker by default), closed when the test ends. */
export async function openTestBus(t: TestContext, options: Partial<KafkaBusOptions> = {}): Promise<KafkaBus> {
  const bus = await openKafkaBus({
    brokers: (testKafkaBrokers ?? '').split(','),
    clientId: 'omninode-test',
    ...options,
  })
  t.after(() => bus.close())
  return bus
}

/** Polls `check` every 20 ms until it is true; fails after `timeoutMs` with `what`. */
export async function waitFor(check: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await sleep(20)
  }
}

const script = fileURLToPath(new URL('../../scripts/infra/kafka.sh', import.meta.url))
const run = promisify(execFile)

async function portFree(port: number): Promise<boolean> {
  const server = createServer()
  return new Promise((resolve) => {
    server.once('error', () => resolve(false))
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)))
  })
}

/** Two consecutive free loopback ports (broker, controller). */
export async function freePortPair(): Promise<number> {
  for (let i = 0; i < 50; i++) {
    const server = createServer()
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const { port } = server.address() as { port: number }
    await new Promise((resolve) => server.close(resolve))
    if (port < 65_000 && (await portFree(port + 1))) return port
  }
  throw new Error('no two consecutive free ports')
}

/** A broker of one test's own, which it may halt and start without disturbing the others. */
export interface OwnKafka {
  /** 127.0.0.1:<port> */
  brokers: string
  /** Stops the broker; topics and offsets stay. */
  halt(): Promise<void>
  /** Starts it again, same port, same data; resolves when it answers. */
  start(): Promise<void>
}

/** scripts/infra/kafka.sh on a directory and ports of its own, removed when the test ends (~10 s). */
export async function startOwnKafka(t: TestContext): Promise<OwnKafka> {
  const dir = mkdtempSync(join(tmpdir(), 'omninode-kafka-'))
  const env = {
    ...process.env,
    OMNINODE_KAFKA_DIR: dir,
    OMNINODE_KAFKA_PORT: String(await freePortPair()),
    // map the class-data archive when there is one, but never spend a halt writing it
    OMNINODE_KAFKA_CDS: 'use',
  }
  const call = async (command: string) => (await run('bash', [script, command], { env })).stdout.trim()
  t.after(() => call('stop'))
  const brokers = await call('start')
  return {
    brokers,
    halt: async () => {
      await call('halt')
    },
    start: async () => {
      await call('start')
    },
  }
}

/** Installs Debian's kcat when missing (as root); the reason it cannot be had otherwise. */
export function ensureKcat(): string | undefined {
  return ensureDebianTool('kcat')
}
