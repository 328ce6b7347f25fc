import { type AddressInfo, createServer, type ListenOptions as NetListenOptions, type Server } from 'node:net'
import type { FastifyInstance, FastifyListenOptions } from 'fastify'

export interface ListenOptions {
  host: string
  port: number
  /** Listening sockets sharing the port (Linux; one elsewhere). */
  acceptors: number
}

export interface Listening {
  /** What fastify's listen answered: the URL of the first address bound. */
  address: string
  /**
   * Stops the extra sockets accepting: first thing in a graceful stop, before app.close() closes the
   * app's own socket and drains the connections. (Once the app's server has closed, they stop anyway.)
   */
  stopAccepting(): void
}

/** Where SO_REUSEPORT lets several sockets of one process listen on one port. */
const sharedPortPlatforms = new Set<NodeJS.Platform>(['linux'])

/**
 * Listens on host:port with `acceptors` sockets sharing the port (SO_REUSEPORT), every connection
 * handed to the app's HTTP server.
 *
 * Why: libuv accepts ONE connection per listening socket per turn of the event loop, and a turn of a
 * busy bridge serves every connection that has a request waiting (1,000 connections of ~0.1 ms each:
 * ~100 ms a turn). New connections then wait in the kernel's accept queue at a few a turn; with one
 * socket, 1,000 connections opened at once on a loaded bridge (npm run bench -- http) took over 10 s
 * to be accepted and hundreds of their requests timed out. The kernel spreads new connections over
 * the sockets, and each accepts its own each turn: 32 accept 32 times as fast.
 *
 * A port shared this way would also let a second process that asks for it (another bridge, say)
 * listen on it beside us and take half the connections, silently: so the port is first tried alone,
 * and a port in use fails as a plain listen does (EADDRINUSE).
 */
export async function listen(app: FastifyInstance, options: ListenOptions): Promise<Listening> {
  const { host, port } = options
  const extra = sharedPortPlatforms.has(process.platform) ? Math.max(0, options.acceptors - 1) : 0
  if (extra > 0 && port !== 0) await assertPortFree(host, port)
  // fastify hands its options to net.Server#listen whole; its type does not name reusePort
  const shared: FastifyListenOptions & { reusePort: boolean } = { host, port, reusePort: extra > 0 }
  const address = await app.listen(shared)
  const bound = app.server.address() as AddressInfo
  const acceptors: Server[] = []
  const stopAccepting = () => {
    for (const acceptor of acceptors.splice(0)) acceptor.close()
  }
  try {
    for (let i = 0; i < extra; i++) {
      // as http.createServer's own accepts do (noDelay is its default)
      const acceptor = createServer({ noDelay: true }, (socket) => app.server.emit('connection', socket))
      acceptors.push(acceptor)
      await bind(acceptor, { host: bound.address, port: bound.port, reusePort: true })
    }
  } catch (err) {
    // the app's own socket is the caller's to close, with the app
    stopAccepting()
    throw err
  }
  // whoever closes the app without stopAccepting (a test, say) leaves no socket listening behind it
  app.server.once('close', stopAccepting)
  return { address, stopAccepting }
}

/** Throws what a plain listen on host:port throws (EADDRINUSE when another socket has it). */
export async function assertPortFree(host: string, port: number): Promise<void> {
  const probe = createServer()
  await bind(probe, { host, port, exclusive: true })
  await new Promise<void>((resolve) => probe.close(() => resolve()))
}

/** server.listen as a promise: settles once it listens, or with the error that stopped it. */
function bind(server: Server, options: NetListenOptions): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(options, () => {
      server.off('error', reject)
      resolve()
    })
  })
}
