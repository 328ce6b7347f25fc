import assert from 'node:assert/strict'
import { type TestContext, test } from 'node:test'
import { migrate } from '../../src/adapters/db/migrate.ts'
import { channels, type HashObservation } from '../../src/core/diagnostics.ts'
import { HashMetricsRecorder } from '../../src/nodes/stamping/hash-metrics-recorder.ts'
import {
  type Backend,
  noPostgresReason,
  pgliteBackend,
  postgresBackend,
  testDatabaseUrl,
} from '../helpers/database-backends.ts'

/**
 * The hash metrics recorder writes its batches as one array per column (unnest): the same rows must
 * land, with their values and types, on every adapter's driver.
 */
test('pglite', async (t) => {
  await recorderContract(t, pgliteBackend)
})

test('postgres', async (t) => {
  if (!testDatabaseUrl) {
    t.skip(noPostgresReason)
    return
  }
  await recorderContract(t, await postgresBackend(t, testDatabaseUrl))
})

async function recorderContract(t: TestContext, backend: Backend): Promise<void> {
  const db = await backend.fresh(t)
  await migrate(db)

  await t.test('observations land in hash_metrics, in batches, with their values', async () => {
    const recorder = new HashMetricsRecorder(db, { batchSize: 3, flushIntervalMs: 60_000 })
    await recorder.start()
    try {
      const publish = (operation: HashObservation['operation'], bytes: number, durationMs: number) =>
        channels.hash.publish({
          operation,
          bytes,
          durationMs,
          backend: 'native',
        } satisfies HashObservation)
      publish('hash', 1024, 0.25)
      publish('stamp', 0, 1.5)
      publish('validate', 5_000_000_000, 0.125) // beyond 32 bits: input_bytes is bigint
      publish('hash', 7, 0)
    } finally {
      await recorder.stop()
    }
    const { rows } = await db.query<{
      operation: string
      backend: string
      input_bytes: number | string
      duration_ms: number
      age_s: number
    }>(
      `SELECT operation, backend, input_bytes, duration_ms,
              extract(epoch FROM now() - recorded_at)::float8 AS age_s
       FROM hash_metrics ORDER BY duration_ms DESC, operation`,
    )
    assert.deepEqual(
      rows.map((r) => [r.operation, r.backend, Number(r.input_bytes), r.duration_ms]),
      [
        ['stamp', 'native', 0, 1.5],
        ['hash', 'native', 1024, 0.25],
        ['validate', 'native', 5_000_000_000, 0.125],
        ['hash', 'native', 7, 0],
      ],
    )
    for (const row of rows) assert.ok(Math.abs(row.age_s) < 60, `recorded_at is now, not ${row.age_s} s away`)
    assert.equal(recorder.dropped, 0)
  })

  await t.test(
    'the partitions of days past the retention are dropped, with old rows of the default one',
    async () => {
      const recorder = new HashMetricsRecorder(db, { retentionDays: 1, partitionsAhead: 0 })
      // 2019-12-31 to 2020-01-03, far before the partitions of today that the test above made
      for (const day of ['2020-01-01', '2020-01-03'])
        await recorder.ensurePartitions(new Date(`${day}T12:00:00Z`))
      await db.query(
        `INSERT INTO hash_metrics VALUES ('2019-12-31T23:00:00Z', 'hash', 'native', 1, 0), ('2020-01-02T00:00:00Z', 'hash', 'native', 2, 0),
         ('2019-06-01T00:00:00Z', 'hash', 'native', 3, 0), ('2020-01-02T00:00:00Z', 'stamp', 'native', 4, 0)`,
      )
      assert.equal(
        await recorder.dropExpiredPartitions(new Date('2020-01-03T12:00:00Z')),
        2,
        '2019-12-31, 2020-01-01',
      )
      const { rows } = await db.query<{ bytes: number | string }>(
        "SELECT input_bytes AS bytes FROM hash_metrics WHERE recorded_at < '2021-01-01' ORDER BY 1",
      )
      assert.deepEqual(
        rows.map((r) => Number(r.bytes)),
        [2, 4],
        'the rows from 2020-01-02 on; the 2019 row of the default partition went too',
      )
    },
  )
}
