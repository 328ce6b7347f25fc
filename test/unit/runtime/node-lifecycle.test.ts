import assert from 'node:assert/strict'
import { test } from 'node:test'
import pino from 'pino'
import type { NodeDescription } from '../../../src/core/registry/description.ts'
import { systemClock } from '../../../src/ports/clock.ts'
import type { OutgoingMessage } from '../../../src/ports/event-bus.ts'
import type { Outbox } from '../../../src/ports/outbox.ts'
import type { HostedNode } from '../../../src/runtime/hosted-node.ts'
import { NodeLifecycle } from '../../../src/runtime/node-lifecycle.ts'

/** The outbox as the lifecycle uses it: what it wrote, in order. */
function recordingOutbox() {
  const written: OutgoingMessage[] = []
  const outbox: Outbox = {
    append: async (_tx, messages) => {
      written.push(...messages)
    },
    notify: () => {},
    write: async (messages) => {
      written.push(...messages)
    },
    defer: (messages) => written.push(...messages),
  }
  return { outbox, written }
}

test('a node announces itself again when its capabilities change, and leaves with a tombstone', async () => {
  const listeners = new Set<() => void>()
  let description: NodeDescription = { nodeType: 'compute', capabilities: { models: ['a'] } }
  const node: HostedNode = {
    name: 'worker',
    routes: async () => {},
    describe: () => description,
    onDescriptionChange: (listener) => {
      listeners.add(listener)
      return () => listeners.delete(listener)
    },
    health: () => 'recovering',
  }
  const { outbox, written } = recordingOutbox()
  let flushed = 0
  const lifecycle = new NodeLifecycle({
    nodes: [node],
    outbox,
    consumers: { subscribe: async () => undefined },
    clock: systemClock,
    logger: pino({ level: 'silent' }),
    config: {
      env: 'development',
      namespace: 'omninode.test',
      heartbeatIntervalSeconds: 30,
      leaseTtlSeconds: undefined,
    },
    source: (name) => ({ nodeId: `${name}@host`, version: '9.9.9', environment: 'development' }),
    activeOperations: () => 3,
    flush: async () => {
      flushed++
    },
  })
  await lifecycle.start('http://127.0.0.1:7000/')
  assert.equal(lifecycle.nodeId(node), 'worker@127.0.0.1:7000')
  assert.equal(written.length, 1)
  assert.equal(written[0]!.envelope.event_type, 'NODE_INTROSPECTION')
  assert.equal(written[0]!.envelope.payload['lease_ttl_seconds'], 60, 'two heartbeat intervals')

  description = { nodeType: 'compute', capabilities: { models: ['a', 'b'] } }
  for (const l of listeners) l()
  await new Promise((r) => setImmediate(r))
  assert.equal(written.length, 2)
  assert.deepEqual(written[1]!.envelope.payload['capabilities'], { models: ['a', 'b'] })

  await lifecycle.heartbeat()
  const hb = written[2]!.envelope
  assert.equal(hb.event_type, 'NODE_HEARTBEAT')
  assert.equal(hb.payload['health_status'], 'recovering')
  assert.equal(hb.payload['active_operations'], 3)
  assert.equal(hb.partition_key, 'worker@127.0.0.1:7000', 'every event of a node on one key: in order')

  await lifecycle.stop()
  const stone = written[3]!.envelope
  assert.equal(stone.event_type, 'NODE_TOMBSTONE')
  assert.equal(stone.payload['removal_reason'], 'graceful_shutdown')
  assert.equal(stone.payload['final_status'], 'recovering')
  assert.equal(flushed, 1, 'the tombstone is pushed out before the stop returns')
  assert.equal(listeners.size, 0)
})
