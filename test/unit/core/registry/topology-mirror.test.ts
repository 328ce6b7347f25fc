import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import type { TopologyDiff, TopologyNode, TopologySnapshot } from '../../../../src/core/registry/payloads.ts'
import { TopologyClient, TopologyMirror } from '../../../../src/core/registry/topology-mirror.ts'

const node = (id: string): TopologyNode => ({
  node_id: id,
  node_type: 'effect',
  node_role: null,
  node_version: '1',
  namespace: 'omninode.test',
  health_status: 'healthy',
  endpoints: {},
  capabilities: {},
})
const add = (v: number, id: string): TopologyDiff => ({
  topology_version: v,
  previous_version: v - 1,
  changes: [{ change_type: 'added', node_id: id, node_type: 'effect', node: node(id) }],
  summary: { total_nodes: 0, nodes_added: 1, nodes_updated: 0, nodes_removed: 0 },
})
const remove = (v: number, id: string): TopologyDiff => ({
  topology_version: v,
  previous_version: v - 1,
  changes: [{ change_type: 'removed', node_id: id, node_type: 'effect', removal_reason: 'lease_expired' }],
  summary: { total_nodes: 0, nodes_added: 0, nodes_updated: 0, nodes_removed: 1 },
})

/** A registry as a TopologyClient sees it: every diff, the snapshot at the latest, and what it keeps. */
function registry(diffs: TopologyDiff[], keptFrom = 1) {
  const calls: string[] = []
  const snapshotAt = (v: number): TopologySnapshot => {
    const m = new TopologyMirror()
    m.reset({ topology_version: 0, nodes: [] })
    for (const d of diffs.filter((d) => d.topology_version <= v)) m.apply(d)
    return { topology_version: m.version, nodes: m.nodes }
  }
  return {
    calls,
    source: {
      snapshot: async () => {
        calls.push('snapshot')
        return snapshotAt(diffs.length)
      },
      diffsSince: async (since: number) => {
        calls.push(`diffs>${since}`)
        return since < keptFrom - 1 ? undefined : diffs.filter((d) => d.topology_version > since)
      },
    },
  }
}

describe('TopologyMirror', () => {
  it('applies the next version, ignores old ones, refuses a gap', () => {
    const m = new TopologyMirror()
    assert.equal(m.apply(add(1, 'a')), 'gap', 'nothing applies before a snapshot')
    m.reset({ topology_version: 0, nodes: [] })
    assert.equal(m.apply(add(1, 'a')), 'applied')
    assert.equal(m.apply(add(1, 'a')), 'stale')
    assert.equal(m.apply(add(3, 'c')), 'gap')
    assert.equal(m.version, 1)
    assert.equal(m.apply(add(2, 'b')), 'applied')
    assert.equal(m.apply(remove(3, 'a')), 'applied')
    assert.deepEqual(
      m.nodes.map((n) => n.node_id),
      ['b'],
    )
  })
})

describe('TopologyClient', () => {
  const all = [add(1, 'a'), add(2, 'b'), remove(3, 'a'), add(4, 'c'), add(5, 'd')]

  it('catches up through the missing diffs on a gap', async () => {
    const r = registry(all)
    const client = new TopologyClient(r.source)
    r.source.snapshot = async () => ({ topology_version: 1, nodes: [node('a')] })
    await client.sync()
    assert.equal(await client.receive(all[1]!), 'applied')
    // 3 and 4 are lost on the way: 5 arrives
    assert.equal(await client.receive(all[4]!), 'gap')
    assert.equal(client.mirror.version, 5)
    assert.deepEqual(client.mirror.nodes.map((n) => n.node_id).sort(), ['b', 'c', 'd'])
    assert.equal(client.resyncs, 1, 'the diffs were enough')
    assert.equal(await client.receive(all[3]!), 'stale', 'a late duplicate changes nothing')
  })

  it('reloads the snapshot when the registry no longer keeps the missing diffs (410)', async () => {
    const r = registry(all, 4)
    const client = new TopologyClient(r.source)
    const first = r.source.snapshot
    r.source.snapshot = async () => ({ topology_version: 1, nodes: [node('a')] })
    await client.sync()
    r.source.snapshot = first
    assert.equal(await client.receive(all[4]!), 'gap')
    assert.equal(client.mirror.version, 5)
    assert.deepEqual(client.mirror.nodes.map((n) => n.node_id).sort(), ['b', 'c', 'd'])
    assert.equal(client.resyncs, 2)
    assert.deepEqual(r.calls, ['diffs>1', 'snapshot'])
  })
})
