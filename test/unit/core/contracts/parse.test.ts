import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { test } from 'node:test'
import {
  consumedTopicOf,
  consumedTopics,
  parseContract,
  publishedTopics,
} from '../../../../src/core/contracts/parse.ts'
import { ContractError } from '../../../../src/core/errors.ts'

const builtIn = (node: string) =>
  readFileSync(new URL(`../../../../src/nodes/${node}/contract.yaml`, import.meta.url), 'utf8')

const minimal = `
name: Sample
version: { major: 1, minor: 2, patch: 3 }
node_type: EFFECT
description: a sample
input_model: In
output_model: Out
event_type:
  published_events: [{ event: METADATA_STAMP_CREATED, topic: metadata-stamp-created }]
  consumed_events: []
`

/** The ContractError that parsing `text` throws, checked to name the file. */
function failure(text: string): ContractError {
  try {
    parseContract(text, 'nodes/x/contract.yaml')
  } catch (err) {
    assert.ok(err instanceof ContractError, `a ContractError, not ${err}`)
    assert.equal(err.file, 'nodes/x/contract.yaml')
    assert.equal(err.code, 'ONEX_CORE_008_INVALID_CONFIG')
    return err
  }
  assert.fail('the contract was accepted')
}

const fields = (err: ContractError) => err.issues.map((i) => i.field)

test('the built-in contracts of stamping, orchestrator, reducer and registry parse', () => {
  const stamping = parseContract(builtIn('stamping'), 'stamping')
  assert.equal(stamping.node_type, 'EFFECT')
  assert.equal(publishedTopics(stamping).topicOf('METADATA_STAMP_CREATED'), 'metadataStampCreated')

  const orchestrator = parseContract(builtIn('orchestrator'), 'orchestrator')
  assert.deepEqual(
    orchestrator.workflow_coordination?.workflow_steps.map((s) => s.name),
    ['validate_input', 'onextree_intelligence', 'hash_generation', 'stamp_creation', 'event_publishing'],
  )
  assert.deepEqual(orchestrator.fsm?.terminal_states, ['completed', 'failed'])
  assert.deepEqual(consumedTopics(orchestrator), ['metadataStampRequest'])

  const registry = parseContract(builtIn('registry'), 'registry')
  assert.equal(consumedTopicOf(registry, 'NODE_HEARTBEAT'), 'nodeHeartbeat')
  assert.equal(publishedTopics(registry).topicOf('TOPOLOGY_DIFF'), 'topologyDiff')
  assert.throws(() => consumedTopicOf(registry, 'TOPOLOGY_DIFF'), ContractError)

  const reducer = parseContract(builtIn('reducer'), 'reducer')
  assert.equal(reducer.aggregation?.aggregation_types.length, 6)
  assert.deepEqual(consumedTopics(reducer), [
    'metadataStampCreated',
    'stampWorkflowCompleted',
    'stampWorkflowFailed',
  ])
})

test('a minimal contract parses; a published event it lacks is a ContractError when asked for', () => {
  const c = parseContract(minimal, 'x')
  assert.deepEqual(c.version, { major: 1, minor: 2, patch: 3 })
  assert.throws(
    () => publishedTopics(c).topicOf('BLAKE3_HASH_GENERATED'),
    (err: unknown) =>
      err instanceof ContractError && /does not declare BLAKE3_HASH_GENERATED/.test(err.message),
  )
})

test('YAML that does not parse names the line', () => {
  const err = failure('name: [unclosed\nversion: 1\n')
  assert.match(
    err.message,
    /^invalid contract nodes\/x\/contract\.yaml: not valid YAML: .* at line \d+, column \d+$/,
  )
})

test('schema violations name every field by its path', () => {
  const err = failure(
    `${minimal.replace('node_type: EFFECT', 'node_type: GATEWAY').replace('patch: 3', 'patch: -1')}\ntimeout: 5\n`,
  )
  assert.deepEqual(fields(err).sort(), ['node_type', 'timeout', 'version.patch'])
  assert.match(err.message, /^invalid contract nodes\/x\/contract\.yaml at \S+: .+ \(and 2 more\)$/)
  assert.equal(err.issues.find((i) => i.field === 'timeout')?.message, 'is not a known field')
})

test('a missing required field is named', () => {
  const err = failure(minimal.replace('input_model: In\n', ''))
  assert.deepEqual(fields(err), ['input_model'])
  assert.equal(err.issues[0]?.message, 'is required')
})

test('a workflow step with a bad timeout is named down to the step', () => {
  const text = builtIn('orchestrator').replace('timeout_ms: 5000', 'timeout_ms: 0')
  const err = failure(text)
  assert.deepEqual(fields(err), ['workflow_coordination.workflow_steps.2.timeout_ms'])
})

test('FSM rules: states exist, terminal states have no exits, no transition twice', () => {
  const text = builtIn('orchestrator')
    .replace('initial_state: pending', 'initial_state: waiting')
    .replace('{ from: pending, to: failed, trigger: reject }', '{ from: completed, to: processing }')
    .replace('{ from: processing, to: failed, trigger: fail }', '{ from: processing, to: completed }')
  const err = failure(text)
  assert.deepEqual(fields(err), ['fsm.initial_state', 'fsm.transitions.1.from', 'fsm.transitions.3'])
})

test('topics must be in the catalogue; step names and published events unique', () => {
  const text = builtIn('orchestrator')
    .replace('topic: stamp-workflow-started', 'topic: stamp-workflow-begun')
    .replace('- name: hash_generation', '- name: validate_input')
    .replace(
      '- { event: STAMP_WORKFLOW_FAILED, topic: stamp-workflow-failed }',
      '- { event: STAMP_WORKFLOW_COMPLETED, topic: stamp-workflow-failed }',
    )
  const err = failure(text)
  assert.deepEqual(fields(err), [
    'event_type.published_events.0.topic',
    'event_type.published_events.2.event',
    'workflow_coordination.workflow_steps.2.name',
  ])
})

test('each kind has the subcontracts it needs; aggregation settings are consistent', () => {
  const orchestrator = failure(minimal.replace('node_type: EFFECT', 'node_type: ORCHESTRATOR'))
  assert.deepEqual(fields(orchestrator), ['fsm', 'workflow_coordination'])
  const reducer = failure(minimal.replace('node_type: EFFECT', 'node_type: REDUCER'))
  assert.deepEqual(fields(reducer), ['aggregation'])
  const aggregation = failure(
    builtIn('reducer')
      .replace('size_buckets_bytes: [1024, 65536, 1048576, 16777216]', 'size_buckets_bytes: [1024, 512]')
      .replace('  custom_group_by: stamp_type\n', ''),
  )
  assert.deepEqual(fields(aggregation), ['aggregation.size_buckets_bytes', 'aggregation.custom_group_by'])
})
