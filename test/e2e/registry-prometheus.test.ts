import assert from 'node:assert/strict'
import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { startTestBridge } from '../helpers/bridge.ts'
import { ensureDebianTool } from '../helpers/debian-tool.ts'
import { until } from '../helpers/until.ts'

// biome-ignore lint/suspicious/noExplicitAny: Prometheus's API answers are checked field by field
type Json = Record<string, any>

const skip = ensureDebianTool('prometheus') ?? false

async function freePort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as { port: number }
  server.close()
  await once(server, 'close')
  return port
}

/**
 * The registry as Prometheus's service discovery, checked by a real Prometheus (Debian's binary) with
 * http_sd_configs on loopback: it finds every registered node's /metrics through GET /sd/prometheus,
 * scrapes the live ones (up), shows a registered node that does not answer as down, and forgets a
 * node once it is deregistered.
 */
test('a real Prometheus discovers and scrapes the nodes through GET /sd/prometheus', { skip }, async (t) => {
  const bridge = await startTestBridge(t, {
    config: { nodes: ['stamping', 'registry'], heartbeatIntervalSeconds: 1 },
    relay: { pollIntervalMs: 20 },
  })
  const url = await bridge.app.listen({ host: '127.0.0.1', port: 0 })
  await bridge.announce(url)
  const host = new URL(url).host
  const nodes = async () => ((await bridge.app.inject({ url: '/nodes' })).json() as Json).data.nodes as Json[]
  await until('both nodes registered', async () => (await nodes()).length === 2, 15_000)
  // a node that registered but does not answer (nothing listens on its port)
  const deadPort = await freePort()
  const dead = await bridge.app.inject({
    method: 'POST',
    url: '/nodes',
    payload: {
      node_id: 'silent-1',
      node_type: 'compute',
      node_version: '1.0.0',
      namespace: 'omninode.bridge',
      capabilities: {},
      endpoints: { metrics: `http://127.0.0.1:${deadPort}/metrics` },
      metadata: {},
      lease_ttl_seconds: 600,
    },
  })
  assert.equal(dead.statusCode, 200, dead.body)

  const sd = (await bridge.app.inject({ url: '/sd/prometheus' })).json() as Json[]
  assert.equal(sd.length, 3)
  const stamping = sd.find((g) => g.labels.__meta_omninode_node_id === `stamping@${host}`)!
  assert.deepEqual(stamping.targets, [host])
  assert.equal(stamping.labels.__metrics_path__, '/metrics')
  assert.equal(stamping.labels.__meta_omninode_namespace, 'omninode.bridge')

  const dir = mkdtempSync(join(tmpdir(), 'omninode-prometheus-'))
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  const promPort = await freePort()
  writeFileSync(
    join(dir, 'prometheus.yml'),
    `global:
  scrape_interval: 1s
  scrape_timeout: 900ms
scrape_configs:
  - job_name: omninode
    http_sd_configs:
      - url: ${url}/sd/prometheus
        refresh_interval: 1s
    relabel_configs:
      # two nodes of one process share its /metrics: the node id keeps them two targets
      - source_labels: [__meta_omninode_node_id]
        target_label: node_id
      - source_labels: [__meta_omninode_node_type]
        target_label: node_type
`,
  )
  const prometheus: ChildProcess = spawn(
    'prometheus',
    [
      `--config.file=${join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${promPort}`,
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  )
  let stderr = ''
  prometheus.stderr!.on('data', (c: Buffer) => {
    stderr += c.toString()
  })
  t.after(async () => {
    if (prometheus.exitCode === null) {
      prometheus.kill('SIGTERM')
      await once(prometheus, 'exit')
    }
  })

  const targets = async (): Promise<Json[]> => {
    try {
      const res = await fetch(`http://127.0.0.1:${promPort}/api/v1/targets`)
      return ((await res.json()) as Json).data.activeTargets as Json[]
    } catch {
      return []
    }
  }
  const byNode = async () => new Map((await targets()).map((tg) => [tg.labels.node_id as string, tg]))
  try {
    await until(
      'Prometheus scraped both live nodes (up) and saw the silent one down',
      async () => {
        const m = await byNode()
        return (
          m.get(`stamping@${host}`)?.health === 'up' &&
          m.get(`registry@${host}`)?.health === 'up' &&
          m.get('silent-1')?.health === 'down'
        )
      },
      60_000,
    )
  } catch (err) {
    assert.fail(
      `${(err as Error).message}\n${JSON.stringify(await targets(), null, 1)}\n${stderr.slice(-2000)}`,
    )
  }
  const live = (await byNode()).get(`stamping@${host}`)!
  assert.equal(live.scrapeUrl, `${url}/metrics`)
  assert.equal(live.labels.node_type, 'effect')
  assert.equal(live.discoveredLabels.__meta_omninode_namespace, 'omninode.bridge')

  // deregistered: gone from discovery, so Prometheus stops scraping it
  assert.equal((await bridge.app.inject({ method: 'DELETE', url: '/nodes/silent-1' })).statusCode, 200)
  await until('silent-1 dropped', async () => !(await byNode()).has('silent-1'), 30_000)
  assert.equal((await byNode()).size, 2)
})
