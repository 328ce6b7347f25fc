import assert from 'node:assert/strict'
import { existsSync, readFileSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { type AddressInfo, createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { type TestContext, test } from 'node:test'
import Fastify from 'fastify'
import pino from 'pino'
import { loadConfig } from '../../../src/runtime/config/load.ts'
import { listen } from '../../../src/runtime/listen.ts'
import { runServer } from '../../../src/runtime/server.ts'

const linux = process.platform === 'linux'
const notLinux = linux ? false : 'SO_REUSEPORT acceptors are Linux only (elsewhere one socket listens)'

async function app(t: TestContext) {
  const app = Fastify()
  app.get('/', async () => ({ hello: 'world' }))
  t.after(() => app.close())
  return app
}

/** Sockets in LISTEN on 127.0.0.1:port, from /proc/net/tcp (state 0A). */
function listenersOn(port: number): number {
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0')
  return readFileSync('/proc/net/tcp', 'utf8')
    .split('\n')
    .slice(1)
    .filter((line) => {
      const [, local, , state] = line.trim().split(/\s+/)
      return local === `0100007F:${hexPort}` && state === '0A'
    }).length
}

/** A port some other plain socket listens on, for the rest of the test. */
async function busyPort(t: TestContext): Promise<number> {
  const other = createServer()
  await new Promise<void>((resolve) => other.listen({ host: '127.0.0.1', port: 0 }, resolve))
  t.after(() => other.close())
  return (other.address() as AddressInfo).port
}

test('acceptors listen on one port together, and every connection reaches the app', {
  skip: notLinux,
}, async (t) => {
  const server = await app(t)
  const listening = await listen(server, { host: '127.0.0.1', port: 0, acceptors: 8 })
  const { port } = server.server.address() as AddressInfo
  assert.equal(listening.address, `http://127.0.0.1:${port}`)
  assert.equal(listenersOn(port), 8)
  // new connections each (no keep-alive pool): the kernel spreads them over the 8 sockets
  const answers = await Promise.all(
    Array.from({ length: 100 }, async () => {
      const res = await fetch(listening.address, { headers: { connection: 'close' } })
      return res.json()
    }),
  )
  assert.deepEqual(new Set(answers.map((a) => JSON.stringify(a))), new Set(['{"hello":"world"}']))

  listening.stopAccepting()
  await server.close()
  assert.equal(listenersOn(port), 0, 'stopped: no socket left on the port')
})

test('a port in use fails as a plain listen does, even with SO_REUSEPORT acceptors', async (t) => {
  const port = await busyPort(t)
  await assert.rejects(listen(await app(t), { host: '127.0.0.1', port, acceptors: 8 }), {
    code: 'EADDRINUSE',
  })
})

test('a second bridge on the port of a running one fails instead of sharing it silently', {
  skip: notLinux,
}, async (t) => {
  const first = await app(t)
  await listen(first, { host: '127.0.0.1', port: 0, acceptors: 4 })
  const { port } = first.server.address() as AddressInfo
  await assert.rejects(listen(await app(t), { host: '127.0.0.1', port, acceptors: 4 }), {
    code: 'EADDRINUSE',
  })
  assert.equal(listenersOn(port), 4, "the first one's sockets only")
})

test('one acceptor is one plain listening socket', async (t) => {
  const server = await app(t)
  const listening = await listen(server, { host: '127.0.0.1', port: 0, acceptors: 1 })
  const { port } = server.server.address() as AddressInfo
  if (linux) assert.equal(listenersOn(port), 1)
  // a plain socket does not share: a second one on the port is refused
  const other = createServer()
  await assert.rejects(
    new Promise<void>((resolve, reject) => {
      other.once('error', reject)
      other.listen({ host: '127.0.0.1', port, reusePort: linux }, resolve)
    }),
    { code: 'EADDRINUSE' },
  )
  assert.deepEqual(await (await fetch(listening.address)).json(), { hello: 'world' })
})

test('omninode serve on a port in use fails at once, before it opens a database', async (t) => {
  const port = await busyPort(t)
  const dataDir = join(await mkdtemp(join(tmpdir(), 'omninode-listen-')), 'data')
  t.after(() => rm(dirname(dataDir), { recursive: true, force: true }))
  const config = { ...loadConfig({ env: {} }), host: '127.0.0.1', port, dataDir }
  await assert.rejects(runServer(config, pino({ level: 'silent' })), { code: 'EADDRINUSE' })
  assert.equal(existsSync(dataDir), false, 'no embedded database created')
})
