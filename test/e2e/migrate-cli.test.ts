import assert from 'node:assert/strict'
import { mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type TestContext, test } from 'node:test'
import { migrationsDir, migrationVersions } from '../../src/adapters/db/migrate.ts'
import { openPgliteDatabase } from '../../src/adapters/db/pglite/pglite-database.ts'
import { openPostgresDatabase } from '../../src/adapters/db/postgres/postgres-database.ts'
import type { Database } from '../../src/ports/database.ts'
import { runOmninode } from '../helpers/child-server.ts'
import {
  createScratchDatabase,
  type Dialect,
  dialects,
  skipReason,
  testDatabaseUrl,
} from '../helpers/database-backends.ts'

/** `omninode migrate` as a user runs it, on each backend: output, exit codes, and what it leaves behind. */
const migrations = readdirSync(migrationsDir)
  .map((file) => /^(\d+)\.do\.(.+)\.sql$/.exec(file))
  .filter((m) => m !== null)
  .map((m) => ({ version: Number(m[1]), name: m[2]! }))
  .sort((a, b) => a.version - b.version)
const latest = migrations.at(-1)!.version
const step = (action: 'applied' | 'undone ', m: { version: number; name: string }) =>
  `${action}  ${String(m.version).padStart(3, '0')} ${m.name}\n`

interface Target {
  /** Arguments and environment that point `omninode migrate` at this database. */
  args: string[]
  env: Record<string, string>
  /** Opens the database in this process (closed again by `inspect`). */
  open(): Promise<Database>
}

async function target(t: TestContext, dialect: Dialect): Promise<Target> {
  if (dialect === 'pglite') {
    const dataDir = mkdtempSync(join(tmpdir(), 'omninode-migrate-'))
    t.after(() => rmSync(dataDir, { recursive: true, force: true }))
    // an empty DATABASE_URL counts as unset, whatever the caller's environment says
    return {
      args: ['--data-dir', dataDir],
      env: { DATABASE_URL: '' },
      open: () => openPgliteDatabase({ dataDir }),
    }
  }
  const scratch = await createScratchDatabase(testDatabaseUrl!)
  t.after(() => scratch.drop())
  return {
    args: [],
    env: { DATABASE_URL: scratch.url },
    open: () => openPostgresDatabase({ url: scratch.url }),
  }
}

/** Version and tables as seen from this process; the database is closed again (PGlite locks its dir). */
async function inspect(target: Target) {
  const db = await target.open()
  try {
    const { rows } = await db.query<{ t: string | null }>("SELECT to_regclass('metadata_stamps')::text AS t")
    return { ...(await migrationVersions(db)), stampsTable: rows[0]!.t !== null }
  } finally {
    await db.close()
  }
}

for (const dialect of dialects) {
  test(`omninode migrate, again, --down 1, and a bad --down (${dialect})`, {
    skip: skipReason(dialect),
    timeout: 120_000,
  }, async (t) => {
    const to = await target(t, dialect)
    const migrate = (...extra: string[]) => runOmninode(['migrate', ...to.args, ...extra], to.env)

    const up = await migrate()
    assert.equal(up.code, 0, up.stderr)
    assert.equal(
      up.stdout,
      `${migrations.map((m) => step('applied', m)).join('')}database (${dialect}) at version ${latest} of ${latest}\n`,
    )
    assert.equal(up.stderr, '')
    assert.deepEqual(await inspect(to), { current: latest, latest, stampsTable: true })

    const again = await migrate()
    assert.equal(again.code, 0, again.stderr)
    assert.equal(again.stdout, `database (${dialect}) at version ${latest} of ${latest}, nothing to do\n`)

    const down = await migrate('--down', '1')
    assert.equal(down.code, 0, down.stderr)
    const previous = migrations.at(-2)?.version ?? 0
    assert.equal(
      down.stdout,
      `${step('undone ', migrations.at(-1)!)}database (${dialect}) at version ${previous} of ${latest}\n`,
    )
    assert.deepEqual(await inspect(to), {
      current: previous,
      latest,
      stampsTable: previous >= 1, // 001 creates it
    })

    const bad = await migrate('--down', 'x')
    assert.equal(bad.code, 2)
    assert.equal(bad.stdout, '')
    assert.match(bad.stderr, /^omninode: invalid --down: .+\n$/)
    assert.deepEqual((await inspect(to)).current, previous, 'a refused command changes nothing')

    const upAgain = await migrate()
    assert.equal(upAgain.code, 0, upAgain.stderr)
    assert.deepEqual(await inspect(to), { current: latest, latest, stampsTable: true })
  })
}
