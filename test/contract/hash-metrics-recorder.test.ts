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
}
