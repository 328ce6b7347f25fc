import type { TestContext } from 'node:test'
import pino from 'pino'
import { openPgliteDatabase } from '../../src/adapters/db/pglite/pglite-database.ts'
import type { Database } from '../../src/ports/database.ts'
import { type Bridge, type BridgeOverrides, createBridge } from '../../src/runtime/app.ts'
import { type BridgeConfig, loadConfig } from '../../src/runtime/config/load.ts'
import type { Logger } from '../../src/runtime/logger.ts'
import {
  createScratchDatabase,
  type Dialect,
  noPostgresReason,
  testDatabaseUrl,
} from './database-backends.ts'

export interface TestBridgeOptions {
  config?: Partial<BridgeConfig>
  /**
   * `pglite`: an in-memory PGlite. `postgres`: a database of its own on the server of
   * OMNINODE_TEST_DATABASE_URL, opened from `databaseUrl` as in production, dropped when the test ends.
   * @default 'pglite'
   */
  backend?: Dialect
  /** An already open database instead (the bridge closes it). */
  db?: Database
  /** The event bus (the bridge closes it; null: none; default: the configured one) and relay tuning. */
  bus?: BridgeOverrides['bus']
  relay?: BridgeOverrides['relay']
  /** @default a silent pino */
  logger?: Logger
}

/**
 * A whole bridge on the chosen backend, closed (and its database dropped) when the test ends. It hosts
 * the stamping node only unless `config.nodes` says otherwise: a registry would add its own events
 * (REGISTRY_REQUEST_INTROSPECTION at start) to the outbox counts suites check, and on a shared Kafka
 * its consumer group would mix suites' registrations.
 */
export async function startTestBridge(t: TestContext, options: TestBridgeOptions = {}): Promise<Bridge> {
  const config: BridgeConfig = { ...loadConfig({ env: {} }), port: 0, nodes: ['stamping'], ...options.config }
  const logger = options.logger ?? pino({ level: 'silent' })
  const events: BridgeOverrides = {
    ...(options.bus !== undefined ? { bus: options.bus } : {}),
    ...(options.relay ? { relay: options.relay } : {}),
  }
  if (options.db || options.backend !== 'postgres') {
    const db = options.db ?? (await openPgliteDatabase())
    const bridge = await createBridge(config, logger, { db, ...events })
    t.after(() => bridge.close())
    return bridge
  }

  if (!testDatabaseUrl) throw new Error(noPostgresReason)
  const scratch = await createScratchDatabase(testDatabaseUrl)
  let bridge: Bridge
  try {
    bridge = await createBridge({ ...config, databaseUrl: scratch.url }, logger, events)
  } catch (err) {
    await scratch.drop()
    throw err
  }
  t.after(async () => {
    await bridge.close()
    await scratch.drop()
  })
  return bridge
}
