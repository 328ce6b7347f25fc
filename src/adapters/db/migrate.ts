import { fileURLToPath } from 'node:url'
import Postgrator from 'postgrator'
import { InvalidInputError } from '../../core/errors.ts'
import type { Database } from '../../ports/database.ts'

/** migrations/ at the package root: `NNN.do.<what>.sql` and `NNN.undo.<what>.sql`, shared by every backend. */
export const migrationsDir = fileURLToPath(new URL('../../../migrations/', import.meta.url))
const schemaTable = 'schema_migrations'

export interface MigrationStep {
  version: number
  action: 'do' | 'undo'
  name: string
}

export interface MigrationReport {
  from: number
  to: number
  steps: MigrationStep[]
}

export type MigrationTarget = { to: 'max' } | { down: number }

/**
 * Runs postgrator through the Database port, so PGlite and PostgreSQL share one code path.
 * Each script runs inside its own transaction: a failing migration leaves nothing half-applied.
 */
export async function migrate(
  db: Database,
  target: MigrationTarget = { to: 'max' },
): Promise<MigrationReport> {
  const postgrator = await createPostgrator(db)
  const from = await postgrator.getDatabaseVersion()
  let to: number
  if ('down' in target) {
    if (!Number.isInteger(target.down) || target.down < 0) {
      throw new InvalidInputError('--down must be a whole number of migrations', [
        { field: 'down', message: 'expected an integer >= 0' },
      ])
    }
    const versions = (await postgrator.getMigrations())
      .filter((m) => m.action === 'do' && m.version <= from)
      .map((m) => m.version)
      .sort((a, b) => b - a)
    to = versions[target.down] ?? 0
  } else {
    to = await postgrator.getMaxVersion()
  }
  const applied = from === to ? [] : await postgrator.migrate(String(to))
  return {
    from,
    to,
    steps: applied.map((m) => ({ version: m.version, action: m.action as 'do' | 'undo', name: m.name })),
  }
}

export async function migrationVersions(db: Database): Promise<{ current: number; latest: number }> {
  const postgrator = await createPostgrator(db)
  return { current: await postgrator.getDatabaseVersion(), latest: await postgrator.getMaxVersion() }
}

async function createPostgrator(db: Database): Promise<Postgrator> {
  const { rows } = await db.query<{ name: string }>('SELECT current_database() AS name')
  return new Postgrator({
    migrationPattern: `${migrationsDir}*.sql`,
    driver: 'pg',
    database: rows[0]!.name,
    schemaTable,
    execQuery: (sql: string) => db.query(sql),
    execSqlScript: (sql: string) => db.execScript(`BEGIN;\n${sql}\n;COMMIT;`),
  })
}
