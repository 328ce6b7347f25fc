import { randomBytes } from 'node:crypto'
import type { TestContext } from 'node:test'
import { openInProcessBus } from '../../src/adapters/bus/in-process/in-process-bus.ts'
import type { EventBus } from '../../src/ports/event-bus.ts'

/** Where the Kafka half of the suites connects (comma list host:port); `npm run test:all` sets it. */
export const testKafkaBrokers = process.env['OMNINODE_TEST_KAFKA_BROKERS']
export const noKafkaReason = 'OMNINODE_TEST_KAFKA_BROKERS not set: run npm run test:all'

/**
 * What the contract suite needs beyond the port: appending a message as it is (not JSON, not an
 * envelope), to check that consumers dead-letter it. Both adapters have this method; it is not part
 * of EventBus because no node may publish anything but a valid envelope.
 */
export interface RawPublisher {
  publishRaw?(topic: string, key: string | null, value: Uint8Array | string): Promise<void>
}

export type TestBus = EventBus & RawPublisher

export type BusKind = EventBus['kind']

/** One backend of the EventBus contract. */
export interface BusBackend {
  readonly kind: BusKind
  /** A new bus, closed when the test `t` ends. */
  open(t: TestContext): Promise<TestBus>
  /** How long an event may reasonably take to arrive (a broker needs seconds to form a group). */
  readonly patienceMs: number
}

export const inProcessBackend: BusBackend = {
  kind: 'in-process',
  async open(t) {
    const bus = openInProcessBus()
    t.after(() => bus.close())
    return bus
  },
  patienceMs: 15_000,
}

interface KafkaBusModule {
  openKafkaBus(options: { brokers: string[]; clientId?: string }): Promise<TestBus>
}

/** The Kafka adapter, loaded only when a broker is there (so this suite runs without the module). */
export function kafkaBackend(brokers: string): BusBackend {
  return {
    kind: 'kafka',
    async open(t) {
      // a computed specifier: tsc does not resolve it, so the suite compiles before the adapter exists
      const specifier = new URL('../../src/adapters/bus/kafka/kafka-bus.ts', import.meta.url).href
      const { openKafkaBus } = (await import(specifier)) as KafkaBusModule
      const bus = await openKafkaBus({
        brokers: brokers.split(',').map((b) => b.trim()),
        clientId: `omninode-test-${randomBytes(3).toString('hex')}`,
      })
      t.after(() => bus.close())
      return bus
    },
    patienceMs: 60_000,
  }
}

/** Why a test on `kind` cannot run here (node:test's `skip` option), or false when it can. */
export function skipReason(kind: BusKind): string | false {
  return kind === 'kafka' && !testKafkaBrokers ? noKafkaReason : false
}

/** Appends `value` as it is; fails the test when the bus has no raw publishing. */
export function publishRaw(
  bus: TestBus,
  topic: string,
  key: string | null,
  value: Uint8Array | string,
): Promise<void> {
  if (bus.publishRaw === undefined)
    throw new Error(`the ${bus.kind} bus has no publishRaw(topic, key, value)`)
  return bus.publishRaw(topic, key, value)
}

/** A topic name no other test or run uses: `test.<label>.<random>`. */
export function uniqueTopic(label: string): string {
  return `test.${label}.${randomBytes(5).toString('hex')}`
}

export function uniqueGroup(label: string): string {
  return `test-${label}-${randomBytes(5).toString('hex')}`
}
