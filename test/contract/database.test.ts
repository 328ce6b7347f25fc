import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { createServer } from 'node:net'
import { type TestContext, test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { guardDatabase } from '../../src/adapters/db/guarded-database.ts'
import { migrate, migrationVersions } from '../../src/adapters/db/migrate.ts'
import { openPostgresDatabase } from '../../src/adapters/db/postgres/postgres-database.ts'
import {
  ConflictError,
  DatabaseError,
  InvalidInputError,
  NotFoundError,
  OnexError,
  TimeoutError,
  UnavailableError,
} from '../../src/core/errors.ts'
import type { Queryable } from '../../src/ports/database.ts'
import { catalogue } from '../helpers/catalogue.ts'
import {
  type Backend,
  pgliteBackend,
  postgresBackend,
  skipReason,
  testDatabaseUrl,
} from '../helpers/database-backends.ts'

/**
 * The Database port's contract: every adapter passes these cases. PGlite always runs; PostgreSQL runs
 * when OMNINODE_TEST_DATABASE_URL is set (npm run test:all), each run in databases of its own.
 */
test('pglite', async (t) => {
  await contract(t, pgliteBackend)
})

test('postgres', { skip: skipReason('postgres') }, async (t) => {
  await contract(t, await postgresBackend(t, testDatabaseUrl!))
})

test('PGlite and PostgreSQL get the same schema from the migrations', {
  skip: skipReason('postgres'),
}, async (t) => {
  // one after the other: PGlite's start-up holds this thread long enough to time out a pg connection
  const schemaOf = async (backend: Backend) => {
    const db = await backend.fresh(t)
    await migrate(db)
    return catalogue(db)
  }
  const onPglite = await schemaOf(pgliteBackend)
  const onPostgres = await schemaOf(await postgresBackend(t, testDatabaseUrl!))
  assert.ok(onPglite.length > 0)
  assert.deepEqual(onPostgres, onPglite)
})

const hash = (n: number) => n.toString(16).padStart(64, '0')

function insertStamp(q: Queryable, n: number, stampData: unknown, namespace = 'omninode.contract') {
  return q.query(
    `INSERT INTO metadata_stamps (file_hash, namespace, file_path, file_size, content_type, stamp_type,
                                  stamp_data, op_id)
     VALUES ($1, $2, $3, 10, 'text/plain', 'lightweight', $4, $5) RETURNING id`,
    [hash(n), namespace, `src/file-${n}.py`, stampData, randomUUID()],
  )
}

async function counter(q: Queryable, table: string): Promise<number> {
  const { rows } = await q.query<{ n: number }>(`SELECT n FROM ${table} WHERE id = 1`)
  return rows[0]!.n
}

async function closedPortUrl(): Promise<string> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  await new Promise((resolve) => server.close(resolve))
  return `postgres://postgres@127.0.0.1:${port}/omninode_test`
}

async function eventually(check: () => boolean, timeoutMs = 2000): Promise<void> {
  const until = performance.now() + timeoutMs
  while (!check()) {
    if (performance.now() > until) throw new Error('condition not met in time')
    await sleep(10)
  }
}

async function contract(t: TestContext, backend: Backend): Promise<void> {
  const isPostgres = backend.dialect === 'postgres'
  const db = await backend.fresh(t)
  await migrate(db)

  await t.test('query parameters and values round-trip with the same JS types', async () => {
    const at = new Date('2026-01-02T03:04:05.678Z')
    const doc = { nested: { list: [1, 'two', null, true] }, unicode: 'héllo ✓' }
    const { rows } = await db.query(
      `SELECT $1::text AS t, $2::int AS i, $3::int8 AS big, $4::boolean AS b, $5::timestamptz AS ts,
              $6::jsonb AS j, $7::text[] AS arr, $8::text AS nothing, $9::numeric AS num, $10::date AS d,
              count(*) OVER () AS c`,
      ['héllo ✓', 42, Number.MAX_SAFE_INTEGER, true, at, doc, ['a', 'b'], null, '1.50', '2026-01-02'],
    )
    assert.deepEqual(rows, [
      {
        t: 'héllo ✓',
        i: 42,
        big: Number.MAX_SAFE_INTEGER,
        b: true,
        ts: at,
        j: doc,
        arr: ['a', 'b'],
        nothing: null,
        num: '1.50',
        d: new Date('2026-01-02T00:00:00Z'),
        c: 1,
      },
    ])
  })

  await t.test('jsonb documents round-trip through metadata_stamps (objects, or JSON text)', async () => {
    const doc = { file_path: 'src/a.py', tags: ['x', 'y'], size: { bytes: 10 }, note: 'it\'s "quoted"' }
    await insertStamp(db, 1, doc)
    await insertStamp(db, 2, JSON.stringify([doc, 1])) // a jsonb array is bound as JSON text
    const { rows, rowCount } = await db.query<{ stamp_data: unknown }>(
      'SELECT stamp_data FROM metadata_stamps WHERE file_hash = ANY($1) ORDER BY file_hash',
      [[hash(1), hash(2)]],
    )
    assert.equal(rowCount, 2)
    assert.deepEqual(
      rows.map((r) => r.stamp_data),
      [doc, [doc, 1]],
    )
    const updated = await db.query(
      'UPDATE metadata_stamps SET updated_at = now() WHERE file_hash = ANY($1)',
      [[hash(1), hash(2)]],
    )
    assert.equal(updated.rowCount, 2, 'rowCount counts affected rows')
  })

  await t.test('a transaction commits what it wrote and returns its result', async () => {
    const id = await db.transaction(async (tx) => {
      const { rows } = await insertStamp(tx, 10, { k: 10 })
      await insertStamp(tx, 11, { k: 11 })
      return rows[0]!['id']
    })
    assert.equal(typeof id, 'string')
    const { rowCount } = await db.query('SELECT 1 FROM metadata_stamps WHERE file_hash IN ($1, $2)', [
      hash(10),
      hash(11),
    ])
    assert.equal(rowCount, 2)
  })

  await t.test('a transaction that throws rolls back and re-throws the same domain error', async () => {
    const mine = new NotFoundError('not there')
    await assert.rejects(
      db.transaction(async (tx) => {
        await insertStamp(tx, 20, {})
        throw mine
      }),
      (err) => err === mine,
    )
    const { rowCount } = await db.query('SELECT 1 FROM metadata_stamps WHERE file_hash = $1', [hash(20)])
    assert.equal(rowCount, 0)
  })

  await t.test(
    "a transaction re-throws the caller's own error as it is, not as a database error",
    async () => {
      // a consumer's handler runs in a transaction (processOnce): its failure reason must survive
      const mine = new Error('the handler refuses')
      await assert.rejects(
        db.transaction(async (tx) => {
          await insertStamp(tx, 21, {})
          throw mine
        }),
        (err) => err === mine,
      )
      const { rowCount } = await db.query('SELECT 1 FROM metadata_stamps WHERE file_hash = $1', [hash(21)])
      assert.equal(rowCount, 0)
    },
  )

  await t.test(
    'a transaction whose failed statement was caught fails too: nothing of it was written',
    async () => {
      await assert.rejects(
        db.transaction(async (tx) => {
          await insertStamp(tx, 22, {})
          await assert.rejects(insertStamp(tx, 22, {}), ConflictError) // caught, and the caller goes on
        }),
        (err) => err instanceof DatabaseError && err.details?.['sql_state'] === '25P02',
      )
      const { rowCount } = await db.query('SELECT 1 FROM metadata_stamps WHERE file_hash = $1', [hash(22)])
      assert.equal(rowCount, 0)
      // the connection is out of the transaction: the next one works
      await db.transaction((tx) => insertStamp(tx, 23, {}))
    },
  )

  await t.test('a transaction handle kept after its end refuses to run statements', async () => {
    let kept: Queryable | undefined
    await db.transaction(async (tx) => {
      kept = tx
    })
    await assert.rejects(kept!.query('SELECT 1'), DatabaseError)
  })

  await t.test('a failed inner transaction rolls back to its savepoint; the outer one commits', async () => {
    await db.transaction(async (tx) => {
      await insertStamp(tx, 30, {})
      await assert.rejects(
        tx.transaction(async (inner) => {
          await insertStamp(inner, 31, {})
          await insertStamp(inner, 30, {}) // duplicate: fails inside the savepoint
        }),
        ConflictError,
      )
      await tx.transaction(async (inner) => {
        await insertStamp(inner, 32, {})
        await inner.transaction((deeper) => insertStamp(deeper, 33, {}))
      })
    })
    const { rows } = await db.query<{ file_hash: string }>(
      'SELECT file_hash FROM metadata_stamps WHERE file_hash IN ($1, $2, $3, $4) ORDER BY file_hash',
      [hash(30), hash(31), hash(32), hash(33)],
    )
    assert.deepEqual(
      rows.map((r) => r.file_hash),
      [hash(30), hash(32), hash(33)],
    )
  })

  await t.test('parallel writers lose no update', async () => {
    await db.query('CREATE TABLE contract_counter (id int PRIMARY KEY, n int NOT NULL)')
    await db.query('INSERT INTO contract_counter VALUES (1, 0)')
    let inFlight = 0
    let maxInFlight = 0
    const writer = (fn: (tx: Queryable) => Promise<unknown>) =>
      db.transaction(async (tx) => {
        maxInFlight = Math.max(maxInFlight, ++inFlight)
        try {
          await fn(tx)
        } finally {
          inFlight--
        }
      })

    await Promise.all(
      Array.from({ length: 20 }, () =>
        writer((tx) => tx.query('UPDATE contract_counter SET n = n + 1 WHERE id = 1')),
      ),
    )
    assert.equal(await counter(db, 'contract_counter'), 20)

    // read-modify-write in the application: FOR UPDATE makes the others wait for the lock
    await Promise.all(
      Array.from({ length: 20 }, () =>
        writer(async (tx) => {
          const { rows } = await tx.query<{ n: number }>(
            'SELECT n FROM contract_counter WHERE id = 1 FOR UPDATE',
          )
          await sleep(1) // widen the window a lost update would need
          await tx.query('UPDATE contract_counter SET n = $1 WHERE id = 1', [rows[0]!.n + 1])
        }),
      ),
    )
    assert.equal(await counter(db, 'contract_counter'), 40)
    if (isPostgres) assert.ok(maxInFlight > 1, `transactions ran concurrently (max ${maxInFlight})`)
  })

  await t.test('jsonb containment on metadata_stamps uses the GIN index', async () => {
    for (let n = 100; n < 140; n++)
      await insertStamp(db, n, { file_path: `gin/${n}.py`, kind: n % 2 ? 'a' : 'b' })
    const { rows } = await db.query<{ file_hash: string }>(
      'SELECT file_hash FROM metadata_stamps WHERE stamp_data @> $1 ORDER BY file_hash',
      [{ file_path: 'gin/107.py' }],
    )
    assert.deepEqual(rows, [{ file_hash: hash(107) }])
    const plan = await db.transaction(async (tx) => {
      await tx.query('SET LOCAL enable_seqscan = off')
      const { rows } = await tx.query<{ 'QUERY PLAN': string }>(
        `EXPLAIN SELECT id FROM metadata_stamps WHERE stamp_data @> '{"kind": "a"}'`,
      )
      return rows.map((r) => r['QUERY PLAN']).join('\n')
    })
    assert.match(plan, /metadata_stamps_stamp_data_gin/, plan)
  })

  await t.test(
    'hash_metrics: daily partitions, rows land in their day, the default catches the rest',
    async () => {
      const ensure = () =>
        db.query<{ created: number }>(
          "SELECT onex_ensure_hash_metrics_partitions('2026-03-01', 3) AS created",
        )
      assert.deepEqual((await ensure()).rows, [{ created: 3 }])
      assert.deepEqual((await ensure()).rows, [{ created: 0 }], 'existing partitions are skipped')
      const insert = (at: string) =>
        db.query<{ part: string }>(
          `INSERT INTO hash_metrics (recorded_at, operation, backend, input_bytes, duration_ms)
         VALUES ($1, 'hash', 'native', 1024, 0.25) RETURNING tableoid::regclass::text AS part`,
          [at],
        )
      assert.deepEqual((await insert('2026-03-01T00:00:00Z')).rows, [{ part: 'hash_metrics_20260301' }])
      assert.deepEqual((await insert('2026-03-02T23:59:59.999Z')).rows, [{ part: 'hash_metrics_20260302' }])
      assert.deepEqual((await insert('2026-03-03T12:00:00+02:00')).rows, [{ part: 'hash_metrics_20260303' }])
      assert.deepEqual((await insert('2999-12-31T00:00:00Z')).rows, [{ part: 'hash_metrics_default' }])
      const { rows } = await db.query<{ n: number }>(
        "SELECT count(*) AS n FROM hash_metrics WHERE recorded_at >= '2026-03-02' AND recorded_at < '2026-03-04'",
      )
      assert.deepEqual(rows, [{ n: 2 }])
    },
  )

  await t.test('a unique violation is a ConflictError, inside a transaction too', async () => {
    await insertStamp(db, 40, {})
    const err = await insertStamp(db, 40, {}).catch((e: unknown) => e)
    assert.ok(err instanceof ConflictError)
    assert.equal(err.code, 'ONEX_CORE_030_CONFLICT')
    assert.equal(err.status, 409)
    assert.equal(err.details?.['constraint'], 'metadata_stamps_hash_namespace_key')
    assert.doesNotMatch(err.message, /duplicate key/, 'no driver message')

    await assert.rejects(
      db.transaction(async (tx) => {
        await insertStamp(tx, 41, {})
        await insertStamp(tx, 40, {})
      }),
      ConflictError,
    )
    const { rowCount } = await db.query('SELECT 1 FROM metadata_stamps WHERE file_hash = $1', [hash(41)])
    assert.equal(rowCount, 0)
  })

  await t.test('errors are domain errors, never raw driver errors', async () => {
    for (const sql of ['SELECT * FROM no_such_table', 'SELEC 1', 'SELECT 1; SELECT 2']) {
      const err = await db.query(sql).catch((e: unknown) => e)
      assert.ok(err instanceof DatabaseError, sql)
      assert.equal(err.code, 'ONEX_CORE_051_DATABASE_ERROR')
    }
    const script = await db.execScript('SELECT 1; SELECT * FROM no_such_table').catch((e: unknown) => e)
    assert.ok(script instanceof OnexError)
  })

  await t.test(
    'a statement run again gives each call its own result, also after DDL changed its table',
    async () => {
      // PGlite keeps a prepared plan per SQL text: the same text must still bind each call's values,
      // fail alone when a call is bad, and follow its table when DDL (through query or a script) adds
      // a column under the kept plan
      await db.query('CREATE TABLE contract_again (a int PRIMARY KEY)')
      const insert = 'INSERT INTO contract_again (a) VALUES ($1) RETURNING a'
      for (const a of [1, 2, 3]) assert.deepEqual((await db.query(insert, [a])).rows, [{ a }])
      await assert.rejects(db.query(insert, [2]), ConflictError)
      await assert.rejects(db.query(insert, ['not a number']), InvalidInputError)
      assert.deepEqual((await db.query(insert, [4])).rows, [{ a: 4 }])
      const everything = 'SELECT * FROM contract_again WHERE a = $1'
      assert.deepEqual((await db.query(everything, [1])).rows, [{ a: 1 }])
      await db.query('ALTER TABLE contract_again ADD COLUMN b text DEFAULT $$x$$')
      assert.deepEqual((await db.query(everything, [1])).rows, [{ a: 1, b: 'x' }])
      await db.execScript('ALTER TABLE contract_again ADD COLUMN c int DEFAULT 7')
      assert.deepEqual((await db.query(everything, [2])).rows, [{ a: 2, b: 'x', c: 7 }])
      await db.transaction(async (tx) => {
        assert.deepEqual((await tx.query(everything, [3])).rows, [{ a: 3, b: 'x', c: 7 }])
        assert.deepEqual((await tx.query(insert, [5])).rows, [{ a: 5 }])
      })
      await db.query('DROP TABLE contract_again')
    },
  )

  await t.test('PostgreSQL prepares a SQL text once per connection, or never when told not to', async (t) => {
    if (!backend.reopen) {
      t.skip('PGlite: its statement cache has its own tests (pglite-prepared-statements)')
      return
    }
    const sql = 'SELECT $1::int + 1 AS n'
    const prepared = async (db: Queryable) =>
      (
        await db.query<{ n: number }>(
          'SELECT count(*)::int AS n FROM pg_prepared_statements WHERE statement = $1',
          [sql],
        )
      ).rows[0]!.n
    // one connection, so that pg_prepared_statements is the one the statements ran on
    const named = await backend.reopen(t, { poolSize: 1 })
    for (const n of [1, 2, 3]) assert.deepEqual((await named.query(sql, [n])).rows, [{ n: n + 1 }])
    assert.equal(await prepared(named), 1)
    const unnamed = await backend.reopen(t, { poolSize: 1, preparedStatements: false })
    for (const n of [1, 2, 3]) assert.deepEqual((await unnamed.query(sql, [n])).rows, [{ n: n + 1 }])
    assert.equal(await prepared(unnamed), 0)
  })

  await t.test('a script that fails inside its own BEGIN leaves no transaction open', async () => {
    // one connection, so the next statements run where the script failed
    const one = backend.reopen ? await backend.reopen(t, { poolSize: 1 }) : db
    await assert.rejects(
      one.execScript('BEGIN; CREATE TABLE contract_half (a int); SELECT * FROM no_such_table; COMMIT;'),
      DatabaseError,
    )
    assert.deepEqual((await one.query("SELECT to_regclass('contract_half') AS t")).rows, [{ t: null }])
    await one.transaction((tx) => tx.query('SELECT 1'))
  })

  await t.test('statement timeout is a TimeoutError, and the connection stays usable', async (t) => {
    if (!backend.reopen) {
      t.skip('PostgreSQL only: PGlite runs in this thread and has no statement timeout')
      return
    }
    const slow = await backend.reopen(t, { statementTimeoutMs: 200, poolSize: 1 })
    const started = performance.now()
    const err = await slow.query('SELECT pg_sleep(3)').catch((e: unknown) => e)
    assert.ok(err instanceof TimeoutError, String(err))
    assert.equal(err.code, 'ONEX_CORE_052_TIMEOUT')
    assert.equal(err.retryable, true)
    assert.ok(performance.now() - started < 1500, 'cancelled by the server, not waited out')
    await assert.rejects(
      slow.transaction((tx) => tx.query('SELECT pg_sleep(3)')),
      TimeoutError,
    )
    assert.deepEqual((await slow.query('SELECT 1 AS one')).rows, [{ one: 1 }])
    assert.deepEqual(slow.stats?.(), { total: 1, idle: 1, waiting: 0, size: 1 }, 'the connection was kept')
  })

  await t.test('connection refused is an UnavailableError at once; the guard then fails fast', async (t) => {
    if (!isPostgres) {
      t.skip('PostgreSQL only: PGlite has no connection')
      return
    }
    const down = await openPostgresDatabase({ url: await closedPortUrl() })
    t.after(() => down.close())
    const started = performance.now()
    const err = await down.query('SELECT 1').catch((e: unknown) => e)
    assert.ok(err instanceof UnavailableError, String(err))
    assert.equal(err.status, 503)
    assert.ok(err.retryAfterSeconds !== undefined && err.retryAfterSeconds >= 1)
    assert.ok(performance.now() - started < 1000, 'no hang')
    await assert.rejects(
      down.transaction(async () => 1),
      UnavailableError,
    )
    await assert.rejects(down.execScript('SELECT 1'), UnavailableError)
    assert.equal((await down.health()).ok, false)

    const guarded = guardDatabase(down, { failureThreshold: 2, halfOpenAfterMs: 5000 })
    await assert.rejects(guarded.query('SELECT 1'), UnavailableError)
    await assert.rejects(guarded.query('SELECT 1'), UnavailableError)
    const open = await guarded.query('SELECT 1').catch((e: unknown) => e)
    assert.ok(open instanceof UnavailableError)
    assert.deepEqual(open.details, { circuit: 'open' })
    assert.equal(open.retryAfterSeconds, 5)
    assert.equal((await guarded.health()).ok, false, 'health still asks the database')
  })

  await t.test('killed connections: pool errors are reported, not thrown; the pool recovers', async (t) => {
    if (!backend.reopen || !backend.admin) {
      t.skip('PostgreSQL only: PGlite has no connection')
      return
    }
    const admin = backend.admin
    const applicationName = `contract-kill-${process.pid}`
    const poolErrors: OnexError[] = []
    const victim = await backend.reopen(t, {
      poolSize: 2,
      applicationName,
      onPoolError: (err) => poolErrors.push(err),
    })
    const kill = () =>
      admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1', [
        applicationName,
      ])
    await Promise.all([victim.query('SELECT pg_sleep(0.05)'), victim.query('SELECT pg_sleep(0.05)')])
    assert.equal(victim.stats?.().idle, 2)
    await kill()
    await eventually(() => poolErrors.length === 2)
    assert.ok(poolErrors.every((e) => e instanceof UnavailableError))
    assert.deepEqual((await victim.query('SELECT 1 AS one')).rows, [{ one: 1 }])

    // killed in the middle of a transaction, while the caller's code runs
    const err = await victim
      .transaction(async (tx) => {
        await tx.query('SELECT 1')
        await kill()
        await sleep(100)
        await tx.query('SELECT 1')
      })
      .catch((e: unknown) => e)
    assert.ok(err instanceof UnavailableError, String(err))
    assert.deepEqual((await victim.query('SELECT 1 AS one')).rows, [{ one: 1 }])
    assert.ok(victim.stats!().total <= 2)
  })

  await t.test('pool stats, and a warning when more than 90% of the pool is in use', async (t) => {
    if (!backend.reopen) {
      assert.equal(db.stats, undefined, 'PGlite has no pool')
      return
    }
    const warnings: [number, number][] = []
    const small = await backend.reopen(t, {
      poolSize: 2,
      onPoolWarning: (inUse, size) => warnings.push([inUse, size]),
    })
    await small.query('SELECT 1')
    assert.deepEqual(warnings, [], '1 of 2 is 50%')
    await Promise.all([1, 2, 3].map(() => small.query('SELECT pg_sleep(0.05)')))
    assert.deepEqual(warnings, [[2, 2]], 'warned once: throttled')
    assert.deepEqual(small.stats!(), { total: 2, idle: 2, waiting: 0, size: 2 })
  })

  await t.test('health is true while the database answers, false once it is closed', async (t) => {
    const own = await backend.fresh(t)
    const health = await own.health()
    assert.equal(health.ok, true)
    assert.ok(health.latencyMs >= 0)
    await own.close()
    await own.close() // idempotent
    const after = await own.health()
    assert.equal(after.ok, false)
    assert.equal(after.error, 'the database is unavailable')
    await assert.rejects(own.query('SELECT 1'), UnavailableError)
  })

  await t.test(
    'migrations: every undo file restores the schema; up again gives the same schema',
    async (t) => {
      const own = await backend.fresh(t)
      const empty = await catalogue(own)
      const up = await migrate(own)
      const { latest } = await migrationVersions(own)
      assert.equal(up.to, latest)
      assert.ok(latest >= 1)
      const top = await catalogue(own)
      assert.notDeepEqual(top, empty)

      // versions may have gaps (each node's migration keeps its number): count the migrations applied
      const applied = up.steps.length
      let above = top
      for (let k = 1; k <= applied; k++) {
        const down = await migrate(own, { down: k })
        assert.deepEqual(
          down.steps.map((s) => s.action),
          Array(k).fill('undo'),
        )
        const below = await catalogue(own)
        assert.notDeepEqual(below, above, `undo to version ${down.to} changed the schema`)
        if (k === applied) assert.deepEqual(below, empty, 'all undone: nothing of ours is left')
        await migrate(own)
        assert.deepEqual(await catalogue(own), top, `down ${k} then up: the same schema`)
        above = below
      }

      // undo also removes what the running system adds (daily partitions)
      await own.query("SELECT onex_ensure_hash_metrics_partitions('2026-05-01', 2)")
      await migrate(own, { down: applied })
      assert.deepEqual(await catalogue(own), empty)
      assert.deepEqual(await migrationVersions(own), { current: 0, latest })
    },
  )
}
