import { randomBytes } from 'node:crypto'
import type { TestContext } from 'node:test'
import { migrate } from '../../src/adapters/db/migrate.ts'
import { openPgliteDatabase } from '../../src/adapters/db/pglite/pglite-database.ts'
import {
  openPostgresDatabase,
  type PostgresOptions,
} from '../../src/adapters/db/postgres/postgres-database.ts'
import type { Database } from '../../src/ports/database.ts'

/** Where the PostgreSQL half of the suites connects; `npm run test:all` sets it. */
export const testDatabaseUrl = process.env['OMNINODE_TEST_DATABASE_URL']
export const noPostgresReason = 'OMNINODE_TEST_DATABASE_URL not set: run npm run test:all'

export type Dialect = 'pglite' | 'postgres'
export const dialects: readonly Dialect[] = ['pglite', 'postgres']

/** A database of its own on a PostgreSQL server, for one test (or one bridge). */
export interface ScratchDatabase {
  name: string
  /** The server's URL with this database in its path. */
  url: string
  /** Drops the database, terminating whatever is still connected to it. Idempotent. */
  drop(): Promise<void>
}

/**
 * Creates an empty `omninode_test_<random>` database on the server of `serverUrl`, so that suites
 * running at the same time never see each other's rows. Each statement uses a short connection of its
 * own, so the caller may drop it whenever its own cleanup order wants.
 */
export async function createScratchDatabase(serverUrl: string): Promise<ScratchDatabase> {
  const name = `omninode_test_${randomBytes(6).toString('hex')}`
  await onServer(serverUrl, `CREATE DATABASE ${name}`)
  const url = new URL(serverUrl)
  url.pathname = `/${name}`
  let dropping: Promise<void> | undefined
  return {
    name,
    url: url.toString(),
    drop: () => {
      dropping ??= onServer(serverUrl, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
      return dropping
    },
  }
}

async function onServer(serverUrl: string, sql: string): Promise<void> {
  const admin = await openPostgresDatabase({ url: serverUrl, poolSize: 1 })
  try {
    await admin.query(sql)
  } finally {
    await admin.close()
  }
}

/**
 * One backend of the Database contract. Every database it hands out is new and empty, and is closed
 * (PGlite) or dropped (PostgreSQL) when the test that asked for it ends, so runs never see each other.
 */
export interface Backend {
  readonly dialect: Dialect
  /** A new empty database. */
  fresh(t: TestContext): Promise<Database>
  /** PostgreSQL only: one more pool on the database `fresh` last created, with other options. */
  reopen?(t: TestContext, options: Omit<PostgresOptions, 'url'>): Promise<Database>
  /** PostgreSQL only: a connection to the cluster's maintenance database, for admin statements. */
  admin?: Database
}

export const pgliteBackend: Backend = {
  dialect: 'pglite',
  async fresh(t) {
    const db = await openPgliteDatabase()
    t.after(() => db.close())
    return db
  },
}

/** Hands out scratch databases on the server of `url`, each dropped after the test that asked for it. */
export async function postgresBackend(t: TestContext, url: string): Promise<Backend> {
  const admin = await openPostgresDatabase({ url, poolSize: 2 })
  t.after(() => admin.close())
  let lastUrl: string | undefined
  return {
    dialect: 'postgres',
    admin,
    async fresh(t) {
      const scratch = await createScratchDatabase(url)
      lastUrl = scratch.url
      const db = await openPostgresDatabase({ url: scratch.url })
      t.after(async () => {
        await db.close()
        await scratch.drop()
      })
      return db
    },
    async reopen(t, options) {
      if (!lastUrl) throw new Error('reopen before fresh')
      const db = await openPostgresDatabase({ url: lastUrl, ...options })
      t.after(() => db.close())
      return db
    },
  }
}

/** Why a test on `dialect` cannot run here (node:test's `skip` option), or false when it can. */
export function skipReason(dialect: Dialect): string | false {
  return dialect === 'postgres' && !testDatabaseUrl ? noPostgresReason : false
}

/**
 * A new database on `dialect` with every migration applied, closed or dropped when `t` ends: the
 * start of a node's suite that runs on both backends (skip it with `skipReason` first).
 */
export async function migratedDatabase(t: TestContext, dialect: Dialect): Promise<Database> {
  const backend = dialect === 'pglite' ? pgliteBackend : await postgresBackend(t, testDatabaseUrl!)
  const db = await backend.fresh(t)
  await migrate(db)
  return db
}
