import assert from 'node:assert/strict'
import { test } from 'node:test'
import { openPgliteDatabase } from '../../../../src/adapters/db/pglite/pglite-database.ts'

// The durability the README promises for the embedded database rests on these settings; a PGlite
// upgrade that changes one of them fails here, so that the promise is checked again.
test('PGlite runs with the settings the bridge chose, and fsync as PGlite sets it', async (t) => {
  const db = await openPgliteDatabase()
  t.after(() => db.close())
  const { rows } = await db.query<{ name: string; setting: string; source: string }>(
    `SELECT name, setting, source FROM pg_settings
     WHERE name IN ('synchronous_commit', 'shared_buffers', 'fsync') ORDER BY name`,
  )
  assert.deepEqual(rows, [
    // off, from PGlite's command line, which no configuration file overrides: commits reach the
    // kernel (a kill -9 loses nothing), not the disk (a power loss may)
    { name: 'fsync', setting: 'off', source: 'command line' },
    // 8 kB pages: 32 MB
    { name: 'shared_buffers', setting: '4096', source: 'configuration file' },
    { name: 'synchronous_commit', setting: 'on', source: 'configuration file' },
  ])
})
