import { type Bridge, type BridgeOverrides, createBridge } from './app.ts'
import type { BridgeConfig } from './config/load.ts'
import { assertPortFree, type Listening, listen } from './listen.ts'
import type { Logger } from './logger.ts'

export interface RunningServer {
  bridge: Bridge
  /** The address actually bound (port 0 resolves to a real port). */
  url: string
  /** Graceful stop: stop accepting, drain up to shutdownTimeoutMs, stop nodes, close the database. */
  stop(): Promise<void>
}

/** Starts the bridge and its HTTP server; SIGINT/SIGTERM stop it gracefully. */
export async function runServer(
  config: BridgeConfig,
  logger: Logger,
  overrides: BridgeOverrides = {},
): Promise<RunningServer> {
  // a port in use fails at once, before the database opens and the nodes start (and stop again)
  if (config.port !== 0) await assertPortFree(config.host, config.port)
  const bridge = await createBridge(config, logger, overrides)
  let listening: Listening
  try {
    listening = await listen(bridge.app, {
      host: config.host,
      port: config.port,
      acceptors: config.httpAcceptors,
    })
  } catch (err) {
    await bridge.close()
    throw err
  }
  const url = listening.address.replace('[::1]', 'localhost')
  try {
    await bridge.announce(url)
  } catch (err) {
    listening.stopAccepting()
    await bridge.close()
    throw err
  }
  logger.info(
    {
      url,
      docs: `${url}/docs`,
      nodes: config.nodes,
      database: bridge.db.dialect,
      hash_backend: bridge.blake3.backend,
    },
    `OmniNode Bridge listening on ${url} (API docs at ${url}/docs)`,
  )

  let stopping: Promise<void> | undefined
  const stop = () => {
    stopping ??= (async () => {
      const timer = setTimeout(() => {
        logger.warn(
          { timeout_ms: config.shutdownTimeoutMs },
          'in-flight requests did not finish in time; closing them',
        )
        bridge.app.server.closeAllConnections()
      }, config.shutdownTimeoutMs)
      timer.unref()
      try {
        listening.stopAccepting()
        await bridge.close()
      } finally {
        clearTimeout(timer)
      }
      logger.info('stopped')
    })()
    return stopping
  }
  return { bridge, url, stop }
}

/** Wires the process signals to a graceful stop (a second signal exits at once). */
export function stopOnSignals(server: RunningServer, logger: Logger): void {
  let received = false
  const onSignal = (signal: NodeJS.Signals) => {
    if (received) {
      logger.warn({ signal }, 'second signal: exiting now')
      process.exit(130)
    }
    received = true
    logger.info({ signal }, 'shutting down')
    server.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error({ err }, 'shutdown failed')
        process.exit(1)
      },
    )
  }
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)
}
