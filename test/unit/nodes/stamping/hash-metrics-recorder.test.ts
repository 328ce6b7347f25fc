import assert from 'node:assert/strict'
import { test } from 'node:test'
import { migrate } from '../../../../src/adapters/db/migrate.ts'
import { openPgliteDatabase } from '../../../../src/adapters/db/pglite/pglite-database.ts'
import { channels, type HashObservation } from '../../../../src/core/diagnostics.ts'
import { HashMetricsRecorder } from '../../../../src/nodes/stamping/hash-metrics-recorder.ts'

const observe = (bytes: number) =>
  channels.hash.publish({
    operation: 'hash',
    bytes,
    durationMs: 0.01,
    backend: 'native',
  } satisfies HashObservation)

test('hash timings land in hash_metrics in batches, in daily partitions created ahead', async (t) => {
  const db = await openPgliteDatabase()
  t.after(() => db.close())
  await migrate(db)
  const recorder = new HashMetricsRecorder(db, { batchSize: 10, flushIntervalMs: 60_000, partitionsAhead: 3 })
  await recorder.start()
  t.after(() => recorder.stop())

  const { rows: parts } = await db.query<{ name: string }>(
    `SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
     WHERE i.inhparent = 'hash_metrics'::regclass ORDER BY 1`,
  )
  const day = (offset: number) =>
    new Date(Date.now() + offset * 86_400_000).toISOString().slice(0, 10).replaceAll('-', '')
  const names = parts.map((p) => p.name)
  for (const offset of [-1, 0, 1, 2, 3])
    assert.ok(names.includes(`hash_metrics_${day(offset)}`), `${day(offset)}`)
  assert.equal(await recorder.ensurePartitions(), 0, 'creating partitions again is a no-op')

  for (let i = 1; i <= 25; i++) observe(i)
  await recorder.flush()
  const { rows } = await db.query<{ n: number; bytes: number; part: string }>(
    `SELECT count(*)::int AS n, sum(input_bytes)::int AS bytes, min(tableoid::regclass::text) AS part FROM hash_metrics`,
  )
  assert.deepEqual(rows[0], { n: 25, bytes: (25 * 26) / 2, part: `hash_metrics_${day(0)}` })
})

test('the partitions of days past the retention are dropped whole, the others kept', async (t) => {
  const db = await openPgliteDatabase()
  t.after(() => db.close())
  await migrate(db)
  const partitions = async () =>
    (
      await db.query<{ name: string }>(
        `SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
         WHERE i.inhparent = 'hash_metrics'::regclass AND c.relname <> 'hash_metrics_default' ORDER BY 1`,
      )
    ).rows.map((r) => r.name)
  const now = new Date('2026-06-30T12:00:00Z')
  const recorder = new HashMetricsRecorder(db, { retentionDays: 3, partitionsAhead: 0 })
  // the partitions of 2026-06-24 to 06-30 (a week of days gone by), each with a row
  for (let d = 24; d <= 30; d++) {
    await recorder.ensurePartitions(new Date(`2026-06-${d}T12:00:00Z`))
    await db.query("INSERT INTO hash_metrics VALUES ($1::timestamptz, 'hash', 'native', 1, 0.01)", [
      `2026-06-${d}T12:00:00Z`,
    ])
  }
  // a row of a day without a partition lands in the default one
  await db.query("INSERT INTO hash_metrics VALUES ('2026-06-01T00:00:00Z', 'hash', 'native', 1, 0.01)")
  assert.equal((await partitions()).length, 8, '06-23 (the day before the first) to 06-30')

  assert.equal(await recorder.dropExpiredPartitions(now), 4, 'the days before 06-27')
  assert.deepEqual(await partitions(), [
    'hash_metrics_20260627',
    'hash_metrics_20260628',
    'hash_metrics_20260629',
    'hash_metrics_20260630',
  ])
  const { rows } = await db.query<{ day: string }>(
    "SELECT to_char(recorded_at AT TIME ZONE 'UTC', 'MM-DD') AS day FROM hash_metrics ORDER BY 1",
  )
  assert.deepEqual(
    rows.map((r) => r.day),
    ['06-27', '06-28', '06-29', '06-30'],
    'the last 3 days and today, the old row of the default partition deleted',
  )
  assert.equal(await recorder.dropExpiredPartitions(now), 0, 'dropping again is a no-op')
})

test('while the database is away the buffer stays bounded, dropping the oldest rows', async (t) => {
  const db = await openPgliteDatabase()
  t.after(() => db.close())
  await migrate(db)
  const errors: unknown[] = []
  const recorder = new HashMetricsRecorder(db, {
    batchSize: 1000,
    flushIntervalMs: 60_000,
    maxBuffered: 5,
    onError: (err) => errors.push(err),
  })
  await recorder.start()
  await db.query('ALTER TABLE hash_metrics RENAME TO hash_metrics_away')
  for (let i = 1; i <= 8; i++) observe(i)
  await recorder.flush()
  assert.equal(errors.length, 1)
  assert.equal(recorder.dropped, 3)

  await db.query('ALTER TABLE hash_metrics_away RENAME TO hash_metrics')
  await recorder.stop()
  const { rows } = await db.query<{ sizes: number[] }>(
    'SELECT array_agg(input_bytes ORDER BY input_bytes)::int[] AS sizes FROM hash_metrics',
  )
  assert.deepEqual(rows[0]?.sizes, [4, 5, 6, 7, 8], 'the newest rows were kept and written once it was back')
})

test('at most maxRowsPerSecond rows a second are written; the rest are counted as sampled out', async (t) => {
  const db = await openPgliteDatabase()
  t.after(() => db.close())
  await migrate(db)
  const recorder = new HashMetricsRecorder(db, { flushIntervalMs: 60_000, maxRowsPerSecond: 10 })
  await recorder.start()
  // Align to the start of a second so that the burst falls within one.
  await new Promise((resolve) => setTimeout(resolve, 1000 - (Date.now() % 1000) + 5))
  for (let i = 0; i < 50; i++) observe(1)
  await recorder.stop()
  const { rows } = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM hash_metrics')
  assert.equal(rows[0]?.n, 10)
  assert.equal(recorder.sampledOut, 40)
})
