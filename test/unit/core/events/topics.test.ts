import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import {
  DLQ_PARTITIONS,
  DLQ_RETENTION_MS,
  dlqTopicName,
  type Environment,
  isDlqTopic,
  type TopicKey,
  topicCatalogue,
  topicDefinitions,
  topicName,
} from '../../../../src/core/events/topics.ts'

const environments: Environment[] = ['development', 'staging', 'production']
const keys = Object.keys(topicCatalogue) as TopicKey[]

describe('topic catalogue', () => {
  it('names topics {env}.omninode_bridge.onex.{class}.{name}.v1 with dev, staging, prod', () => {
    assert.equal(
      topicName('development', 'metadataStampCreated'),
      'dev.omninode_bridge.onex.evt.metadata-stamp-created.v1',
    )
    assert.equal(
      topicName('staging', 'metadataStampRequest'),
      'staging.omninode_bridge.onex.cmd.metadata-stamp-request.v1',
    )
    assert.equal(
      topicName('production', 'codegenAnalyzeResponse'),
      'prod.omninode_bridge.onex.qrs.codegen-analyze-response.v1',
    )
    for (const env of environments) {
      for (const key of keys) {
        assert.match(
          topicName(env, key),
          /^(dev|staging|prod)\.omninode_bridge\.onex\.(evt|cmd|qrs)\.[a-z0-9-]+\.v1$/,
        )
      }
    }
  })

  it('every name is kebab-case and unique', () => {
    const names = keys.map((k) => topicCatalogue[k].name)
    for (const name of names) assert.match(name, /^[a-z][a-z0-9]*(-[a-z0-9]+)*$/, name)
    assert.equal(new Set(names).size, names.length)
  })

  it('holds the topics DESIGN section 4 lists', () => {
    const names = new Set(keys.map((k) => `${topicCatalogue[k].class}.${topicCatalogue[k].name}`))
    for (const expected of [
      'evt.blake3-hash-generated',
      'evt.metadata-stamp-created',
      'evt.metadata-stamp-validated',
      'evt.metadata-batch-processed',
      'cmd.metadata-stamp-request',
      'evt.stamp-workflow-started',
      'evt.stamp-workflow-completed',
      'evt.stamp-workflow-failed',
      'evt.workflow-step-completed',
      'evt.workflow-state-transition',
      'evt.onextree-intelligence-requested',
      'evt.onextree-intelligence-received',
      'evt.aggregation-started',
      'evt.batch-processed',
      'evt.aggregation-completed',
      'evt.aggregation-failed',
      'evt.state-persisted',
      'evt.state-committed',
      'evt.node-introspection',
      'evt.node-heartbeat',
      'cmd.registry-request-introspection',
      'evt.node-tombstone',
      'evt.topology-diff',
      'evt.service-registered',
      'evt.service-deregistered',
    ]) {
      assert.ok(names.has(expected), expected)
    }
  })

  it('has the 13 code-generation topics: 4 requests, 4 responses, status, 4 request DLQs', () => {
    const codegen = topicDefinitions('development').filter((d) => d.topic.includes('.codegen-'))
    assert.equal(codegen.length, 13)
    const ofKind = (re: RegExp) => codegen.filter((d) => re.test(d.topic)).map((d) => d.topic)
    const requests = ofKind(/\.cmd\.codegen-(analyze|validate|pattern|mixin)-request\.v1$/)
    assert.equal(requests.length, 4)
    assert.equal(ofKind(/\.qrs\.codegen-(analyze|validate|pattern|mixin)-response\.v1$/).length, 4)
    assert.deepEqual(ofKind(/codegen-status-session\.v1$/), [
      'dev.omninode_bridge.onex.evt.codegen-status-session.v1',
    ])
    assert.deepEqual(ofKind(/\.dlq$/).sort(), requests.map(dlqTopicName).sort())
  })

  it('dead-letter topics have 1 partition and the longest retention', () => {
    const defs = topicDefinitions('production')
    const dlqs = defs.filter((d) => isDlqTopic(d.topic))
    assert.ok(dlqs.length > 0)
    assert.equal(DLQ_PARTITIONS, 1)
    for (const d of dlqs) {
      assert.equal(d.partitions, 1, d.topic)
      assert.equal(d.retentionMs, DLQ_RETENTION_MS, d.topic)
      assert.ok(
        defs.some((o) => dlqTopicName(o.topic) === d.topic),
        `${d.topic} has its topic`,
      )
    }
    for (const d of defs) assert.ok(d.retentionMs <= DLQ_RETENTION_MS, d.topic)
  })

  it('topicDefinitions lists every topic once, with a DLQ where the spec asks, per environment', () => {
    for (const env of environments) {
      const defs = topicDefinitions(env)
      assert.equal(new Set(defs.map((d) => d.topic)).size, defs.length)
      const withDlq = keys.filter((k) => topicCatalogue[k].dlq).length
      assert.equal(defs.length, keys.length + withDlq)
      for (const key of keys) {
        const spec = topicCatalogue[key]
        const def = defs.find((d) => d.topic === topicName(env, key))
        assert.deepEqual(def, {
          topic: topicName(env, key),
          partitions: spec.partitions,
          retentionMs: spec.retentionMs,
        })
        assert.equal(
          defs.some((d) => d.topic === dlqTopicName(topicName(env, key))),
          spec.dlq,
          key,
        )
      }
    }
  })

  it('replies get no DLQ; heartbeats and session status have 6 partitions', () => {
    for (const key of keys)
      if (topicCatalogue[key].class === 'qrs') assert.equal(topicCatalogue[key].dlq, false, key)
    assert.equal(topicCatalogue.nodeHeartbeat.partitions, 6)
    assert.equal(topicCatalogue.codegenStatusSession.partitions, 6)
    assert.equal(dlqTopicName('a.b'), 'a.b.dlq')
    assert.ok(isDlqTopic('a.b.dlq'))
    assert.ok(!isDlqTopic('a.dlq.b'))
  })
})
