import assert from 'node:assert/strict'
import { test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { LocalAnalyser } from '../../../../src/adapters/intelligence/local-analyser.ts'
import { OnexTreeClient } from '../../../../src/adapters/intelligence/onextree-client.ts'
import { startFakeOnexTree } from '../../../helpers/fake-onextree.ts'

const input = (n: number) => ({
  content: Buffer.from(`print(${n})\nprint(2)\n`),
  filePath: `tool${n}.py`,
  contentHash: n.toString(16).padStart(64, '0'),
})

test('the local analyser: type, size, line count, language guess', async () => {
  const local = new LocalAnalyser()
  const py = await local.analyse(input(1))
  assert.deepEqual(py, {
    source: 'local',
    degraded: false,
    data: {
      analyser: 'local',
      file_kind: py.data['file_kind'],
      content_type: py.data['content_type'],
      binary: false,
      size_bytes: 18,
      line_count: 2,
      language: 'python',
    },
  })
  const script = local.facts({ content: Buffer.from('#!/usr/bin/env node\nrun()'), contentHash: '0' })
  assert.deepEqual([script['language'], script['line_count']], ['javascript', 2])
  const png = local.facts({
    content: Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex'),
    filePath: 'a.png',
    contentHash: '0',
  })
  assert.deepEqual([png['binary'], png['line_count'], png['language']], [true, null, null])
})

test('OnexTree answers; its answer is cached by content hash for the TTL', async (t) => {
  const onextree = await startFakeOnexTree(t)
  const client = new OnexTreeClient({
    url: onextree.url,
    timeoutMs: 500,
    cacheTtlMs: 100,
    local: new LocalAnalyser(),
  })
  const first = await client.analyse(input(1))
  assert.deepEqual([first.source, first.degraded], ['onextree', false])
  assert.deepEqual(first.data['patterns'], ['onex.node'])
  assert.equal(first.data['tree_node'], 'tool1.py')
  await client.analyse(input(1))
  assert.equal(onextree.state.calls, 1, 'the second answer came from the cache')
  await sleep(120)
  await client.analyse(input(1))
  assert.equal(onextree.state.calls, 2, 'expired: asked again')
})

test('slow, failing, circuit open, recovering: the local analyser answers, degraded, until OnexTree is back', async (t) => {
  const onextree = await startFakeOnexTree(t, 300)
  const circuit: string[] = []
  const client = new OnexTreeClient({
    url: onextree.url,
    timeoutMs: 50,
    cacheTtlMs: 0,
    failureThreshold: 3,
    halfOpenAfterMs: 150,
    local: new LocalAnalyser(),
    onCircuit: (s) => circuit.push(s),
  })

  onextree.state.mode = 'slow'
  const started = performance.now()
  const slow = await client.analyse(input(2))
  assert.ok(performance.now() - started < 250, 'did not wait for the slow answer')
  assert.deepEqual([slow.source, slow.degraded], ['local', true])
  assert.equal(slow.reason, 'OnexTree did not answer within 50 ms')
  assert.equal(slow.data['language'], 'python')

  onextree.state.mode = 'failing'
  const failing = await client.analyse(input(3))
  assert.deepEqual([failing.source, failing.degraded], ['local', true])
  assert.equal(failing.reason, 'OnexTree failed: OnexTree answered HTTP 503')
  await client.analyse(input(4)) // the third consecutive failure opens the circuit
  assert.deepEqual(circuit, ['open'])

  const callsWhenOpen = onextree.state.calls
  const open = await client.analyse(input(5))
  assert.equal(open.reason, 'OnexTree circuit open')
  assert.equal(onextree.state.calls, callsWhenOpen, 'an open circuit does not call OnexTree')

  onextree.state.mode = 'ok'
  await sleep(170)
  const back = await client.analyse(input(6))
  assert.deepEqual([back.source, back.degraded], ['onextree', false])
  assert.deepEqual(circuit, ['open', 'half-open', 'closed'])
})
