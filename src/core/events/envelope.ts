import Type, { type Static } from 'typebox'
import { InvalidInputError } from '../errors.ts'
import { compileParser } from '../schema.ts'

/**
 * OnexEnvelopeV1 (DESIGN section 4): every event on the bus, as JSON. Unknown fields are ignored on
 * read; a missing or malformed required field is an InvalidInputError naming it.
 */

const uuid = Type.String({
  pattern: '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$',
})
const isoTimestamp = Type.String({
  pattern: '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}(\\.\\d+)?(Z|[+-]\\d{2}:\\d{2})$',
})

export const SecurityBlockSchema = Type.Object({
  algorithm: Type.Literal('ed25519'),
  signer_id: Type.String({ minLength: 1 }),
  payload_hash: Type.String({ pattern: '^[0-9a-f]{64}$' }),
  signature: Type.String({ minLength: 1 }),
  signed_at: isoTimestamp,
})

export const EnvelopeSchema = Type.Object({
  envelope_version: Type.Literal('1.0'),
  event_id: uuid,
  event_type: Type.String({ pattern: '^[A-Z][A-Z0-9]*(_[A-Z0-9]+)*$' }),
  event_version: Type.String({ minLength: 1 }),
  event_timestamp: isoTimestamp,
  source_node_id: Type.String({ minLength: 1 }),
  source_service: Type.String({ minLength: 1 }),
  source_version: Type.String({ minLength: 1 }),
  source_instance: Type.Optional(Type.String()),
  correlation_id: Type.Optional(uuid),
  causation_id: Type.Optional(uuid),
  environment: Type.String({ minLength: 1 }),
  region: Type.Optional(Type.String()),
  partition_key: Type.Optional(Type.String({ minLength: 1 })),
  payload: Type.Record(Type.String(), Type.Unknown()),
  metadata: Type.Record(Type.String(), Type.Unknown()),
  security: Type.Optional(SecurityBlockSchema),
})

export type OnexEnvelopeV1 = Static<typeof EnvelopeSchema>

const parseObject = compileParser(EnvelopeSchema, 'envelope')
const decoder = new TextDecoder('utf-8', { fatal: true })

/** An envelope from a parsed object, bytes or text; throws InvalidInputError naming every bad field. */
export function parseEnvelope(input: unknown): OnexEnvelopeV1 {
  let value = input
  if (input instanceof Uint8Array || typeof input === 'string') {
    try {
      value = JSON.parse(typeof input === 'string' ? input : decoder.decode(input))
    } catch (err) {
      const reason = `is not UTF-8 JSON (${(err as Error).message})`
      throw new InvalidInputError(`invalid envelope: ${reason}`, [{ field: 'envelope', message: reason }])
    }
  }
  const envelope = parseObject(value)
  // Unknown fields are ignored: keep only what the schema names, so they do not travel on.
  return pick(envelope)
}

function pick(e: OnexEnvelopeV1): OnexEnvelopeV1 {
  const keys = Object.keys(EnvelopeSchema.properties) as Array<keyof OnexEnvelopeV1>
  const out: Record<string, unknown> = {}
  for (const key of keys) if (e[key] !== undefined) out[key] = e[key]
  return out as OnexEnvelopeV1
}

/** The Kafka key of an envelope: `partition_key`, else `correlation_id`, else `source_node_id`, else `event_id`. */
export function envelopeKey(e: OnexEnvelopeV1): string {
  return e.partition_key ?? e.correlation_id ?? e.source_node_id ?? e.event_id
}

export interface EnvelopeSource {
  nodeId: string
  version: string
  environment: string
  instance?: string
  /** @default 'omninode-bridge' */
  service?: string
}

export interface NewEvent {
  eventType: string
  payload: Record<string, unknown>
  correlationId?: string | undefined
  causationId?: string | undefined
  partitionKey?: string | undefined
  metadata?: Record<string, unknown>
  /** @default '1.0' */
  eventVersion?: string
}

const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

/** A request's correlation id as an envelope may carry it: kept when it is a uuid, else none. */
export function asCorrelationId(value: string | undefined): string | undefined {
  return value !== undefined && uuidPattern.test(value) ? value : undefined
}

/** A new envelope; id and time come from the caller so that core stays deterministic. */
export function createEnvelope(
  source: EnvelopeSource,
  event: NewEvent,
  ids: { eventId: string; now: Date },
): OnexEnvelopeV1 {
  const e: OnexEnvelopeV1 = {
    envelope_version: '1.0',
    event_id: ids.eventId,
    event_type: event.eventType,
    event_version: event.eventVersion ?? '1.0',
    event_timestamp: ids.now.toISOString(),
    source_node_id: source.nodeId,
    source_service: source.service ?? 'omninode-bridge',
    source_version: source.version,
    environment: source.environment,
    payload: event.payload,
    metadata: event.metadata ?? {},
  }
  if (source.instance !== undefined) e.source_instance = source.instance
  if (event.correlationId !== undefined) e.correlation_id = event.correlationId
  if (event.causationId !== undefined) e.causation_id = event.causationId
  if (event.partitionKey !== undefined) e.partition_key = event.partitionKey
  return e
}

/** A response to `request`: same correlation id (the request's event id when it had none), caused by it. */
export function replyTo(
  request: OnexEnvelopeV1,
  event: Omit<NewEvent, 'correlationId' | 'causationId'>,
): NewEvent {
  return {
    ...event,
    correlationId: request.correlation_id ?? request.event_id,
    causationId: request.event_id,
  }
}

const encoder = new TextEncoder()

export function serializeEnvelope(e: OnexEnvelopeV1): Uint8Array {
  return encoder.encode(JSON.stringify(e))
}
