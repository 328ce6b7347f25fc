import diagnostics from 'node:diagnostics_channel'

/**
 * Observability from the outside (STYLE 11): the hot paths publish facts on these channels and
 * metrics, logs or traces subscribe. Publishing costs nothing when nobody listens.
 */
export const channels = {
  /** {operation: 'hash' | 'stamp' | 'validate', bytes, durationMs, backend} */
  hash: diagnostics.channel('omninode:hash'),
  /** {dialect, durationMs, ok} for every database round trip */
  dbQuery: diagnostics.channel('omninode:db:query'),
  /** {topic, count} for each topic of a batch the outbox relay published */
  eventsPublished: diagnostics.channel('omninode:events:published'),
  /** {failures} for a relay pass that failed (its rows are retried) */
  relayFailed: diagnostics.channel('omninode:events:relay-failed'),
  /** {dlqTopic, originalTopic} for every dead letter the DLQ monitor sees */
  deadLetter: diagnostics.channel('omninode:events:dead-letter'),
  /** {dlqTopic, count, threshold, windowMs} when dead letters cross the alert threshold */
  dlqAlert: diagnostics.channel('omninode:events:dlq-alert'),
  /** {nodeId, namespace, from, to} when a registered node's health changes */
  nodeHealthChanged: diagnostics.channel('omninode:registry:health-changed'),
  /** {version, changes} for every topology version the registry leader wrote */
  topologyVersion: diagnostics.channel('omninode:registry:topology-version'),
} as const

export interface HashObservation {
  operation: 'hash' | 'stamp' | 'validate'
  bytes: number
  durationMs: number
  backend: string
}

export interface DbQueryObservation {
  dialect: string
  durationMs: number
  ok: boolean
}

export interface EventsPublishedObservation {
  topic: string
  count: number
}

export interface RelayFailedObservation {
  failures: number
}

export interface DeadLetterObservation {
  dlqTopic: string
  originalTopic: string
}

export interface DlqAlertObservation {
  dlqTopic: string
  count: number
  threshold: number
  windowMs: number
}

export interface NodeHealthChangedObservation {
  nodeId: string
  namespace: string
  from: string
  to: string
}

export interface TopologyVersionObservation {
  version: number
  changes: number
}
