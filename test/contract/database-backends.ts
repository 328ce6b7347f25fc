import { randomBytes } from 'node:crypto'
import type { TestContext } from 'node:test'
import { openPgliteDatabase } from '../../src/adapters/db/pglite/pglite-database.ts'
import {
  openPostgresDatabase,
  type PostgresOptions,
} from '../../src/adapters/db/postgres/postgres-database.ts'
import type { Database } from '../../src/ports/database.ts'

/** Where the PostgreSQL half of the contract suites connects; `npm run test:all` sets it. */
export const testDatabaseUrl = process.env['OMNINODE_TEST_DATABASE_URL']
export const noPostgresReason = 'OMNINODE_TEST_DATABASE_URL not set: run npm run test:all'

/**
 * One backend of the Database contract. Every database it hands out is new and empty, and is closed
 * (PGlite) or dropped (PostgreSQL) when the test that asked for it ends, so runs never see each other.
 */
export interface Backend {
  readonly dialect: 'pglite' | 'postgres'
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

/** Creates `omninode_test_<random>` databases on the server of `url`, each dropped after its test. */
export async function postgresBackend(t: TestContext, url: string): Promise<Backend> {
  const admin = await openPostgresDatabase({ url, poolSize: 2 })
  // closed once the suite is over and every database it created is dropped, whatever the hook order
  let open = 0
  let suiteOver = false
  const closeAdminWhenDone = () => (suiteOver && open === 0 ? admin.close() : undefined)
  t.after(() => {
    suiteOver = true
    return closeAdminWhenDone()
  })
  let lastUrl: string | undefined
  return {
    dialect: 'postgres',
    admin,
    async fresh(t) {
      const name = `omninode_test_${randomBytes(6).toString('hex')}`
      await admin.query(`CREATE DATABASE ${name}`)
      const dbUrl = new URL(url)
      dbUrl.pathname = `/${name}`
      lastUrl = dbUrl.toString()
      open++
      const db = await openPostgresDatabase({ url: lastUrl })
      t.after(async () => {
        await db.close()
        await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
        open--
        await closeAdminWhenDone()
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
