import { parseDocument } from 'yaml'
import { ContractError, type FieldIssue, InvalidInputError } from '../errors.ts'
import { type Environment, type TopicKey, topicCatalogue, topicName } from '../events/topics.ts'
import { compileParser } from '../schema.ts'
import { type NodeContract, nodeContractSchema } from './schema.ts'

const parseShape = compileParser(nodeContractSchema, 'contract')

/** Catalogue keys by topic name (`metadata-stamp-created` → `metadataStampCreated`). */
const topicKeysByName = new Map<string, TopicKey>(
  (Object.keys(topicCatalogue) as TopicKey[]).map((key) => [topicCatalogue[key].name, key]),
)

/**
 * A contract.yaml's text as a NodeContract: YAML, then the schema, then the rules the schema cannot
 * say (FSM states that exist, unique step names, topics of the catalogue, the subcontracts a node
 * kind needs). Throws ContractError naming `file` and every offending field.
 */
export function parseContract(text: string, file: string): NodeContract {
  const doc = parseDocument(text)
  if (doc.errors.length > 0) {
    // the yaml library's messages end with `at line L, column C:` and a code frame: keep the first line
    const issues = doc.errors.map((e) => ({
      field: '',
      message: `not valid YAML: ${e.message.split('\n')[0]?.replace(/:$/, '')}`,
    }))
    throw new ContractError(file, issues)
  }
  let contract: NodeContract
  try {
    contract = parseShape(doc.toJS())
  } catch (err) {
    if (err instanceof InvalidInputError) throw new ContractError(file, [...err.issues], { cause: err })
    throw err
  }
  const issues = checkRules(contract)
  if (issues.length > 0) throw new ContractError(file, issues)
  return contract
}

function checkRules(c: NodeContract): FieldIssue[] {
  const issues: FieldIssue[] = []
  const issue = (field: string, message: string) => issues.push({ field, message })

  if (c.fsm) {
    const states = new Set(c.fsm.states)
    if (!states.has(c.fsm.initial_state))
      issue('fsm.initial_state', `'${c.fsm.initial_state}' is not a state`)
    c.fsm.terminal_states.forEach((s, i) => {
      if (!states.has(s)) issue(`fsm.terminal_states.${i}`, `'${s}' is not a state`)
    })
    const terminal = new Set(c.fsm.terminal_states)
    const seen = new Set<string>()
    c.fsm.transitions.forEach((t, i) => {
      if (!states.has(t.from)) issue(`fsm.transitions.${i}.from`, `'${t.from}' is not a state`)
      if (!states.has(t.to)) issue(`fsm.transitions.${i}.to`, `'${t.to}' is not a state`)
      if (terminal.has(t.from)) issue(`fsm.transitions.${i}.from`, `'${t.from}' is terminal: it has no exits`)
      const pair = `${t.from}->${t.to}`
      if (seen.has(pair)) issue(`fsm.transitions.${i}`, `${t.from} → ${t.to} is declared twice`)
      seen.add(pair)
    })
  }

  for (const list of ['published_events', 'consumed_events'] as const) {
    const events = new Set<string>()
    c.event_type[list].forEach((e, i) => {
      if (!topicKeysByName.has(e.topic))
        issue(`event_type.${list}.${i}.topic`, `'${e.topic}' is not a topic of the catalogue`)
      if (list === 'published_events' && events.has(e.event))
        issue(`event_type.${list}.${i}.event`, `${e.event} is declared twice`)
      events.add(e.event)
    })
  }

  if (c.workflow_coordination) {
    const names = new Set<string>()
    c.workflow_coordination.workflow_steps.forEach((step, i) => {
      if (names.has(step.name))
        issue(`workflow_coordination.workflow_steps.${i}.name`, `'${step.name}' twice`)
      names.add(step.name)
      const p = step.retry_policy
      if (p.max_backoff_ms < p.initial_backoff_ms)
        issue(
          `workflow_coordination.workflow_steps.${i}.retry_policy.max_backoff_ms`,
          'must be at least initial_backoff_ms',
        )
    })
  }

  if (c.aggregation) {
    const a = c.aggregation
    const buckets = a.size_buckets_bytes
    if (buckets?.some((b, i) => i > 0 && b <= buckets[i - 1]!))
      issue('aggregation.size_buckets_bytes', 'must be ascending')
    if (a.aggregation_types.includes('custom') && !a.custom_group_by)
      issue('aggregation.custom_group_by', 'is required when aggregation_types has custom')
  }

  if (c.node_type === 'ORCHESTRATOR') {
    if (!c.fsm) issue('fsm', 'is required for an ORCHESTRATOR')
    if (!c.workflow_coordination) issue('workflow_coordination', 'is required for an ORCHESTRATOR')
  }
  if (c.node_type === 'REDUCER' && !c.aggregation) issue('aggregation', 'is required for a REDUCER')
  return issues
}

/**
 * What a node publishes, by event type: the catalogue key of each published event's topic. A node
 * asks for the events it emits at construction, so a contract that lacks one fails at start.
 */
export function publishedTopics(contract: NodeContract): PublishedTopics {
  const byEvent = new Map<string, TopicKey>()
  for (const e of contract.event_type.published_events) byEvent.set(e.event, topicKeysByName.get(e.topic)!)
  const topicOf = (event: string): TopicKey => {
    const key = byEvent.get(event)
    if (key === undefined)
      throw new ContractError(contract.name, [
        {
          field: 'event_type.published_events',
          message: `does not declare ${event}, which the node publishes`,
        },
      ])
    return key
  }
  return {
    topicOf,
    topicNames: <E extends string>(events: readonly E[], environment: Environment) =>
      Object.fromEntries(events.map((e) => [e, topicName(environment, topicOf(e))])) as Record<E, string>,
  }
}

export interface PublishedTopics {
  /** The topic `event` goes to; throws ContractError when the contract does not publish it. */
  topicOf(event: string): TopicKey
  /** The topic name of each of `events` in `environment`, all checked at once (a node's constructor). */
  topicNames<E extends string>(events: readonly E[], environment: Environment): Record<E, string>
}

/** The topic a node consumes `event` from; throws ContractError when the contract does not consume it. */
export function consumedTopicOf(contract: NodeContract, event: string): TopicKey {
  const ref = contract.event_type.consumed_events.find((e) => e.event === event)
  if (ref === undefined)
    throw new ContractError(contract.name, [
      { field: 'event_type.consumed_events', message: `does not declare ${event}, which the node consumes` },
    ])
  return topicKeysByName.get(ref.topic)!
}

/** The catalogue keys of the topics a node consumes (deduplicated, in contract order). */
export function consumedTopics(contract: NodeContract): TopicKey[] {
  return [...new Set(contract.event_type.consumed_events.map((e) => topicKeysByName.get(e.topic)!))]
}
