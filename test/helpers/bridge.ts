import type { TestContext } from 'node:test'
import pino from 'pino'
import { openPgliteDatabase } from '../../src/adapters/db/pglite/pglite-database.ts'
import type { Database } from '../../src/ports/database.ts'
import { type Bridge, createBridge } from '../../src/runtime/app.ts'
import { type BridgeConfig, loadConfig } from '../../src/runtime/config/load.ts'

/** A whole bridge on an in-memory PGlite (or the given database), closed when the test ends. */
export async function startTestBridge(
  t: TestContext,
  options: { config?: Partial<BridgeConfig>; db?: Database } = {},
): Promise<Bridge> {
  const config = { ...loadConfig({ env: {} }), port: 0, ...options.config }
  const db = options.db ?? (await openPgliteDatabase())
  const bridge = await createBridge(config, pino({ level: 'silent' }), { db })
  t.after(() => bridge.close())
  return bridge
}
