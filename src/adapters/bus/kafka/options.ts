import type { EnvelopeSource } from '../../../core/events/envelope.ts'
import type { NodeLogger } from '../../../ports/logger.ts'

export interface KafkaBusOptions {
  /** Bootstrap brokers, `host:port` (KAFKA_BROKERS split on commas). */
  brokers: readonly string[]
  /**
   * Prefix of every client id this bus opens (`<clientId>-producer`, `<clientId>-<groupId>-<n>`).
   * @default 'omninode-bridge'
   */
  clientId?: string
  /**
   * Longest a publish may take, retries through a broker outage included; then it fails with
   * UnavailableError (the events may still have been written: delivery is at least once).
   * @default 30000
   */
  publishTimeoutMs?: number
  /**
   * Longest health() waits for the metadata answer.
   * @default 2000
   */
  healthTimeoutMs?: number
  /**
   * How long the broker keeps a silent consumer in its group before giving its partitions to others.
   * @default 10000
   */
  sessionTimeoutMs?: number
  /** @default 1000 */
  heartbeatIntervalMs?: number
  /**
   * Events fetched but not yet handled, per subscription, above which fetching pauses (a batch
   * subscription may hold more: a full batch per partition it consumes).
   * @default 2000
   */
  maxBufferedEvents?: number
  /** Who signs the DEAD_LETTER envelopes this bus writes. @default { nodeId: clientId, version: '0.0.0', environment: 'development' } */
  source?: EnvelopeSource
  /** Where the bus says that a consumer lost its broker, a message was dead-lettered, ... */
  logger?: NodeLogger
}

export const kafkaBusDefaults = {
  clientId: 'omninode-bridge',
  publishTimeoutMs: 30_000,
  healthTimeoutMs: 2_000,
  sessionTimeoutMs: 10_000,
  heartbeatIntervalMs: 1_000,
  maxBufferedEvents: 2_000,
  /** Largest record set in one produce request; the broker refuses batches over 1 MiB by default. */
  maxRequestBytes: 900_000,
} as const

export type ResolvedKafkaBusOptions = Required<KafkaBusOptions>

const silent: NodeLogger = { debug() {}, info() {}, warn() {}, error() {} }

export function resolveKafkaBusOptions(options: KafkaBusOptions): ResolvedKafkaBusOptions {
  const clientId = options.clientId ?? kafkaBusDefaults.clientId
  return {
    brokers: options.brokers,
    clientId,
    publishTimeoutMs: options.publishTimeoutMs ?? kafkaBusDefaults.publishTimeoutMs,
    healthTimeoutMs: options.healthTimeoutMs ?? kafkaBusDefaults.healthTimeoutMs,
    sessionTimeoutMs: options.sessionTimeoutMs ?? kafkaBusDefaults.sessionTimeoutMs,
    heartbeatIntervalMs: options.heartbeatIntervalMs ?? kafkaBusDefaults.heartbeatIntervalMs,
    maxBufferedEvents: options.maxBufferedEvents ?? kafkaBusDefaults.maxBufferedEvents,
    source: options.source ?? { nodeId: clientId, version: '0.0.0', environment: 'development' },
    logger: options.logger ?? silent,
  }
}
