import { once } from 'node:events'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { TestContext } from 'node:test'

export type OnexTreeMode = 'ok' | 'slow' | 'failing'

/**
 * A real HTTP server on 127.0.0.1 that plays OnexTree (`POST /analyze`): answering, answering too
 * late (`slowMs`), or failing with 503. Tests switch its mode to make it slow, failing and recovering.
 */
export async function startFakeOnexTree(t: TestContext, slowMs = 1000) {
  const state = { mode: 'ok' as OnexTreeMode, calls: 0, inFlight: 0 }
  const server = createServer((req, res) => {
    let body = ''
    req.on('data', (chunk: Buffer) => {
      body += chunk.toString()
    })
    req.on('end', () => {
      state.calls++
      if (req.method !== 'POST' || req.url !== '/analyze') {
        res.writeHead(404).end()
        return
      }
      const request = JSON.parse(body) as { file_path: string | null; content_hash: string }
      const answer = () =>
        res.writeHead(200, { 'content-type': 'application/json' }).end(
          JSON.stringify({
            tree_node: request.file_path,
            patterns: ['onex.node'],
            hash_seen: request.content_hash,
          }),
        )
      if (state.mode === 'failing') res.writeHead(503).end('overloaded')
      else if (state.mode === 'slow') {
        state.inFlight++
        setTimeout(() => {
          state.inFlight--
          answer()
        }, slowMs).unref()
      } else answer()
    })
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  t.after(() => {
    server.closeAllConnections()
    server.close()
  })
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, state }
}
