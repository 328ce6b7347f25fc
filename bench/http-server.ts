/**
 * The server half of bench/http.ts, run as a process of its own so that the load generator's memory and
 * CPU are not counted as the server's:
 *
 *   node bench/http-server.ts bare      fastify with one route, GET / → {"hello":"world"} (the anchor)
 *   node bench/http-server.ts bare-post fastify with one route, POST /hash: BLAKE3 of the raw body as
 *                                       JSON, no bridge around it (the floor for a POST with a body)
 *   node bench/http-server.ts bridge    the bridge from createBridge, on PostgreSQL when DATABASE_URL is
 *                                       set, else on PGlite in a throwaway data dir (the default)
 *
 * Listens on 127.0.0.1, port 0, and prints {"url": ...} on stdout once it does. Stops on SIGTERM or
 * SIGINT, and when its stdin closes: the bench that started it is gone, even if it was killed.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Fastify, { type FastifyInstance } from 'fastify'
import pino from 'pino'
import { loadBlake3 } from '../src/core/hashing/blake3.ts'
import { createBridge } from '../src/runtime/app.ts'
import { loadConfig } from '../src/runtime/config/load.ts'
import { listen } from '../src/runtime/listen.ts'

const kind = process.argv[2]
let app: FastifyInstance
let close: () => Promise<void>
/** The anchors listen as a bare fastify does; the bridge as `omninode serve` does (runtime/listen.ts). */
let listenUrl = () => app.listen({ host: '127.0.0.1', port: 0 })

if (kind === 'bare') {
  app = Fastify()
  app.get('/', async () => ({ hello: 'world' }))
  close = () => app.close()
} else if (kind === 'bare-post') {
  const blake3 = await loadBlake3('native')
  app = Fastify()
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body))
  app.post('/hash', async (request) => {
    const body = request.body as Buffer
    return { status: 'success', data: { file_hash: blake3.hashHex(body), size_bytes: body.byteLength } }
  })
  close = () => app.close()
} else if (kind === 'bridge') {
  const databaseUrl = process.env['DATABASE_URL']
  // without DATABASE_URL, what `omninode serve` runs: PGlite on a data dir (durable commits), here a
  // throwaway one
  const dataDir = databaseUrl ? undefined : mkdtempSync(join(tmpdir(), 'omninode-bench-http-'))
  const config = loadConfig({
    env: databaseUrl ? { DATABASE_URL: databaseUrl } : { OMNINODE_DATA_DIR: dataDir! },
  })
  const bridge = await createBridge(config, pino({ level: 'silent' }))
  app = bridge.app
  let stopAccepting = () => {}
  listenUrl = async () => {
    const listening = await listen(app, { host: '127.0.0.1', port: 0, acceptors: config.httpAcceptors })
    stopAccepting = listening.stopAccepting
    return listening.address
  }
  close = async () => {
    stopAccepting()
    await bridge.close()
    if (dataDir) rmSync(dataDir, { recursive: true, force: true })
  }
} else {
  process.stderr.write('usage: node bench/http-server.ts bare|bare-post|bridge\n')
  process.exit(2)
}

const url = await listenUrl()
process.stdout.write(`${JSON.stringify({ url })}\n`)

let stopping = false
const stop = () => {
  if (stopping) return
  stopping = true
  close().then(
    () => process.exit(0),
    (err: unknown) => {
      process.stderr.write(`http-server: close failed: ${String(err)}\n`)
      process.exit(1)
    },
  )
}
process.on('SIGTERM', stop)
process.on('SIGINT', stop)
process.stdin.on('end', stop)
process.stdin.resume()
