/**
 * The registry bench's simulated nodes: they publish their introspections and heartbeats all at once.
 *
 * On Kafka they run in a child process of their own (this file is its entry point), as real nodes run
 * apart from the registry: the registry under test does not share its event loop and its core with
 * the load that it is measured under, and the CPU the simulation spends is reported on its own. On the
 * in-process bus they can only publish from the bench process itself.
 */
import { fork } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { openKafkaBus } from '../src/adapters/bus/kafka/kafka-bus.ts'
import { createEnvelope, type OnexEnvelopeV1 } from '../src/core/events/envelope.ts'
import type { EventBus } from '../src/ports/event-bus.ts'

export type NodeEvent = 'introspection' | 'heartbeat' | 'tombstone'

export interface SimulatedNodes {
  /** Every node in `ids` publishes one `event` to `topic`; resolves once the bus took them all. */
  publishAll(topic: string, event: NodeEvent, ids: readonly string[]): Promise<void>
  /** The child process publishing, when there is one (its CPU is measured apart). */
  readonly pid: number | undefined
  close(): Promise<void>
}

/** Nodes publishing from this process, on its bus. */
export function localNodes(bus: EventBus, env: string): SimulatedNodes {
  return {
    pid: undefined,
    publishAll: (topic, event, ids) => publishAll(bus, topic, ids, (id) => makeEvent(env, event, id)),
    close: async () => undefined,
  }
}

interface Request {
  seq: number
  topic: string
  event: NodeEvent
  ids: readonly string[]
}
type Reply = { seq: number; error?: string } | { ready: true }

/** Nodes publishing from a child process with a Kafka client of its own. */
export async function forkedNodes(brokers: string, env: string): Promise<SimulatedNodes> {
  const child = fork(import.meta.filename, [], {
    env: { ...process.env, BENCH_NODES_BROKERS: brokers, BENCH_NODES_ENV: env },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  })
  const waiting = new Map<number, PromiseWithResolvers<void>>()
  const ready = Promise.withResolvers<void>()
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  child.on('message', (reply: Reply) => {
    if ('ready' in reply) return ready.resolve()
    const w = waiting.get(reply.seq)
    waiting.delete(reply.seq)
    if (reply.error === undefined) w?.resolve()
    else w?.reject(new Error(`simulated nodes: ${reply.error}`))
  })
  child.once('exit', (code) => {
    const error = new Error(`simulated nodes: the child process exited (${code})`)
    ready.reject(error)
    for (const w of waiting.values()) w.reject(error)
    waiting.clear()
  })
  await ready.promise
  let seq = 0
  return {
    pid: child.pid,
    publishAll(topic, event, ids) {
      const w = Promise.withResolvers<void>()
      waiting.set(++seq, w)
      child.send({ seq, topic, event, ids } satisfies Request)
      return w.promise
    },
    async close() {
      child.disconnect()
      await exited
    },
  }
}

/**
 * Chunks of 500 handed to the bus together (the Kafka publisher merges what is queued into produce
 * requests), so that the simulation is not bounded by a round trip per chunk of its own producer.
 */
async function publishAll(
  bus: EventBus,
  topic: string,
  ids: readonly string[],
  make: (id: string) => OnexEnvelopeV1,
): Promise<void> {
  const chunks: Array<Promise<void>> = []
  for (let i = 0; i < ids.length; i += 500)
    chunks.push(bus.publishBatch(ids.slice(i, i + 500).map((id) => ({ topic, envelope: make(id) }))))
  await Promise.all(chunks)
}

export function makeEvent(env: string, event: NodeEvent, id: string): OnexEnvelopeV1 {
  const [eventType, payload] = payloads[event](id)
  return createEnvelope(
    { nodeId: id, version: '1.0.0', environment: env },
    { eventType, payload, partitionKey: id },
    { eventId: randomUUID(), now: new Date() },
  )
}

const payloads: Record<NodeEvent, (id: string) => [string, Record<string, unknown>]> = {
  introspection: (id) => [
    'NODE_INTROSPECTION',
    {
      node_id: id,
      node_type: 'compute',
      node_version: '1.0.0',
      namespace: 'omninode.bench',
      capabilities: { simulated: true },
      endpoints: { health: 'http://127.0.0.1:9/health', metrics: 'http://127.0.0.1:9/metrics' },
      metadata: {},
      lease_ttl_seconds: 600,
    },
  ],
  heartbeat: (id) => [
    'NODE_HEARTBEAT',
    {
      node_id: id,
      node_type: 'compute',
      health_status: 'healthy',
      uptime_seconds: 1,
      active_operations: 0,
      resource_usage: { cpu_percent: 1, memory_mb: 50 },
    },
  ],
  tombstone: (id) => [
    'NODE_TOMBSTONE',
    {
      node_id: id,
      node_type: 'compute',
      removal_reason: 'graceful_shutdown',
      removal_timestamp: new Date().toISOString(),
      final_status: 'healthy',
    },
  ],
}

// the child process: publishes what the bench asks for until the bench disconnects
if (import.meta.main) {
  const bus = await openKafkaBus({
    brokers: process.env['BENCH_NODES_BROKERS']!.split(','),
    clientId: 'omninode-bench-nodes',
  })
  const nodes = localNodes(bus, process.env['BENCH_NODES_ENV']!)
  process.on('message', (r: Request) => {
    nodes.publishAll(r.topic, r.event, r.ids).then(
      () => process.send!({ seq: r.seq } satisfies Reply),
      (error: unknown) => process.send!({ seq: r.seq, error: String(error) } satisfies Reply),
    )
  })
  process.once('disconnect', () => void bus.close())
  process.send!({ ready: true } satisfies Reply)
}
