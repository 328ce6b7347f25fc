/**
 * The topic catalogue (DESIGN section 4), the one place topic names are made:
 * `{env}.omninode_bridge.onex.{class}.{name}.v1`, dead letters at the topic's name + `.dlq`.
 *
 * Partitions and retention follow the seeds' code-generation topics: request and response topics 3
 * partitions, status streams 6, dead letters 1 (kept longest: someone has to look at them).
 */

export type TopicClass = 'evt' | 'cmd' | 'qrs'
export type Environment = 'development' | 'staging' | 'production'

export interface TopicSpec {
  class: TopicClass
  /** kebab-case */
  name: string
  partitions: number
  retentionMs: number
  /** Gets a `.dlq` companion (consumed topics whose handlers may fail). */
  dlq: boolean
}

const day = 24 * 60 * 60 * 1000
const fact = (name: string, partitions = 3): TopicSpec => ({
  class: 'evt',
  name,
  partitions,
  retentionMs: 7 * day,
  dlq: true,
})
const command = (name: string): TopicSpec => ({
  class: 'cmd',
  name,
  partitions: 3,
  retentionMs: 7 * day,
  dlq: true,
})
const reply = (name: string): TopicSpec => ({
  class: 'qrs',
  name,
  partitions: 3,
  retentionMs: 7 * day,
  dlq: false,
})

export const DLQ_PARTITIONS = 1
export const DLQ_RETENTION_MS = 30 * day

/** Every topic the bridge knows, by a stable key (what code refers to). */
export const topicCatalogue = {
  // stamping
  blake3HashGenerated: fact('blake3-hash-generated'),
  metadataStampCreated: fact('metadata-stamp-created'),
  metadataStampValidated: fact('metadata-stamp-validated'),
  metadataBatchProcessed: fact('metadata-batch-processed'),
  metadataStampRequest: command('metadata-stamp-request'),
  // workflow (orchestrator)
  stampWorkflowStarted: fact('stamp-workflow-started'),
  stampWorkflowCompleted: fact('stamp-workflow-completed'),
  stampWorkflowFailed: fact('stamp-workflow-failed'),
  workflowStepCompleted: fact('workflow-step-completed'),
  workflowStateTransition: fact('workflow-state-transition'),
  onextreeIntelligenceRequested: fact('onextree-intelligence-requested'),
  onextreeIntelligenceReceived: fact('onextree-intelligence-received'),
  // reducer
  aggregationStarted: fact('aggregation-started'),
  batchProcessed: fact('batch-processed'),
  aggregationCompleted: fact('aggregation-completed'),
  aggregationFailed: fact('aggregation-failed'),
  statePersisted: fact('state-persisted'),
  stateCommitted: fact('state-committed'),
  // registry
  nodeIntrospection: fact('node-introspection'),
  nodeHeartbeat: fact('node-heartbeat', 6),
  registryRequestIntrospection: command('registry-request-introspection'),
  nodeTombstone: fact('node-tombstone'),
  topologyDiff: fact('topology-diff'),
  serviceRegistered: fact('service-registered'),
  serviceDeregistered: fact('service-deregistered'),
  nodeRegistrationRejected: fact('node-registration-rejected'),
  nodeHealthChanged: fact('node-health-changed'),
  // code generation (the seeds' 13 topics: 4 requests, 4 responses, status, 4 request DLQs)
  codegenAnalyzeRequest: command('codegen-analyze-request'),
  codegenValidateRequest: command('codegen-validate-request'),
  codegenPatternRequest: command('codegen-pattern-request'),
  codegenMixinRequest: command('codegen-mixin-request'),
  codegenAnalyzeResponse: reply('codegen-analyze-response'),
  codegenValidateResponse: reply('codegen-validate-response'),
  codegenPatternResponse: reply('codegen-pattern-response'),
  codegenMixinResponse: reply('codegen-mixin-response'),
  codegenStatusSession: {
    class: 'evt',
    name: 'codegen-status-session',
    partitions: 6,
    retentionMs: 7 * day,
    dlq: false,
  },
  // event backbone: the DLQ monitor's alerts (kept as long as the dead letters they are about)
  dlqAlert: { class: 'evt', name: 'dlq-alert', partitions: 1, retentionMs: 30 * day, dlq: false },
} as const satisfies Record<string, TopicSpec>

export type TopicKey = keyof typeof topicCatalogue

const envTag: Record<Environment, string> = { development: 'dev', staging: 'staging', production: 'prod' }

/** `dev.omninode_bridge.onex.evt.metadata-stamp-created.v1` */
export function topicName(env: Environment, key: TopicKey): string {
  const spec: TopicSpec = topicCatalogue[key]
  return `${envTag[env]}.omninode_bridge.onex.${spec.class}.${spec.name}.v1`
}

export function dlqTopicName(topic: string): string {
  return `${topic}.dlq`
}

export function isDlqTopic(topic: string): boolean {
  return topic.endsWith('.dlq')
}

/** Every dead-letter topic of an environment (what the DLQ monitor watches). */
export function dlqTopicNames(env: Environment): string[] {
  return topicDefinitions(env)
    .map((d) => d.topic)
    .filter(isDlqTopic)
}

export interface TopicDefinition {
  topic: string
  partitions: number
  retentionMs: number
}

/** Every topic of an environment with its settings, dead-letter topics included: what gets created. */
export function topicDefinitions(env: Environment): TopicDefinition[] {
  const out: TopicDefinition[] = []
  for (const key of Object.keys(topicCatalogue) as TopicKey[]) {
    const spec: TopicSpec = topicCatalogue[key]
    const topic = topicName(env, key)
    out.push({ topic, partitions: spec.partitions, retentionMs: spec.retentionMs })
    if (spec.dlq)
      out.push({ topic: dlqTopicName(topic), partitions: DLQ_PARTITIONS, retentionMs: DLQ_RETENTION_MS })
  }
  return out
}
