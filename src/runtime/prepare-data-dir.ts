// Run as a child process by prepareNewDataDir (database.ts): `node prepare-data-dir.ts <dataDir>`.
// Creates the embedded database's cluster and applies the migrations, then exits, so that the
// WebAssembly heap initdb and the first migrations grew (several hundred MB, never given back by a
// heap) goes back to the system with this process instead of staying in the bridge's.
import { migrate } from '../adapters/db/migrate.ts'
import { openPgliteDatabase } from '../adapters/db/pglite/pglite-database.ts'

const dataDir = process.argv[2]
if (!dataDir) {
  process.stderr.write('usage: node prepare-data-dir.ts <dataDir>\n')
  process.exit(2)
}
try {
  const db = await openPgliteDatabase({ dataDir })
  try {
    await migrate(db)
  } finally {
    await db.close()
  }
} catch (err) {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`)
  process.exit(1)
}
