import { openInProcessBus } from '../adapters/bus/in-process/in-process-bus.ts'
import { openKafkaBus } from '../adapters/bus/kafka/kafka-bus.ts'
import type { EnvelopeSource } from '../core/events/envelope.ts'
import type { EventBus } from '../ports/event-bus.ts'
import type { BridgeConfig } from './config/load.ts'
import type { Logger } from './logger.ts'

/**
 * The configured event bus: Apache Kafka when KAFKA_BROKERS is set, else the in-process bus (the
 * embedded default: one process, nothing kept across restarts; the outbox keeps what was not yet
 * published). Nothing else changes with the choice: nodes see the EventBus port only.
 */
export async function openBus(
  config: Pick<BridgeConfig, 'kafkaBrokers'>,
  deps: { logger: Logger; source: EnvelopeSource },
): Promise<EventBus> {
  if (!config.kafkaBrokers) return openInProcessBus({ source: deps.source })
  return openKafkaBus({
    brokers: config.kafkaBrokers,
    source: deps.source,
    logger: deps.logger.child({ component: 'kafka' }),
  })
}
