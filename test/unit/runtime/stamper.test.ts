import assert from 'node:assert/strict'
import { type TestContext, test } from 'node:test'
import { SqlOutbox } from '../../../src/adapters/events/sql-outbox.ts'
import { loadBlake3 } from '../../../src/core/hashing/blake3.ts'
import { systemClock } from '../../../src/ports/clock.ts'
import type { StamperRequest } from '../../../src/ports/stamper.ts'
import { loadNodeContract } from '../../../src/runtime/contracts.ts'
import { createStamper } from '../../../src/runtime/stamper.ts'
import { dialects, migratedDatabase, skipReason } from '../../helpers/database-backends.ts'

async function stamperOn(t: TestContext, dialect: (typeof dialects)[number]) {
  const db = await migratedDatabase(t, dialect)
  const outbox = new SqlOutbox(db)
  t.after(() => outbox.close())
  const stamper = createStamper({
    db,
    blake3: await loadBlake3(),
    clock: systemClock,
    outbox,
    source: { nodeId: 'stamping@test', version: '0', environment: 'development' },
    environment: 'development',
    stampingContract: loadNodeContract('stamping'),
  })
  return { db, stamper }
}

const text = (s: string) => new TextEncoder().encode(s)
const request = (content: string, extra: Partial<StamperRequest> = {}): StamperRequest => ({
  content: text(content),
  namespace: 'onex.test.stamper',
  stampType: 'lightweight',
  filePath: 'a.py',
  ...extra,
})

for (const dialect of dialects) {
  test(`stampMany: one call stores many stamps in order; the same content twice is created once and keeps its identity (${dialect})`, {
    skip: skipReason(dialect),
  }, async (t) => {
    const { db, stamper } = await stamperOn(t, dialect)
    const items = [
      request('x = 1\n', { intelligenceData: { source: 'first' } }),
      request('y = 2\n'),
      request('x = 1\n', { intelligenceData: { source: 'second' } }),
      request('x = 1\n'),
    ].map((r) => ({ request: r, context: {} }))
    const outcomes = await db.transaction((tx) => stamper.stampMany(items, tx))
    assert.deepEqual(
      outcomes.map((o) => o.created),
      [true, true, false, false],
    )
    assert.equal(outcomes[0]!.fileHash, outcomes[2]!.fileHash)
    assert.notEqual(outcomes[0]!.fileHash, outcomes[1]!.fileHash)
    // the first stamping's identity is kept: the same record, uid and stamped content
    assert.equal(outcomes[2]!.recordId, outcomes[0]!.recordId)
    assert.equal(outcomes[3]!.uid, outcomes[0]!.uid)
    assert.deepEqual(outcomes[3]!.stampedContent, outcomes[0]!.stampedContent)

    const { rows } = await db.query<{ file_hash: string; intelligence_data: Record<string, unknown> }>(
      'SELECT file_hash, intelligence_data FROM metadata_stamps ORDER BY created_at, id',
    )
    assert.equal(rows.length, 2)
    // the later stamping with intelligence data replaced it; the last one, without, kept it
    const x = rows.find((r) => r.file_hash === outcomes[0]!.fileHash)!
    assert.deepEqual(x.intelligence_data, { source: 'second' })

    const events = await db.query<{ t: string; hash: string }>(
      `SELECT envelope ->> 'event_type' AS t, envelope #>> '{payload,file_hash}' AS hash
       FROM event_outbox ORDER BY id`,
    )
    assert.deepEqual(
      events.rows.map((e) => [e.t, e.hash]),
      outcomes.map((o) => ['METADATA_STAMP_CREATED', o.fileHash]),
      'one METADATA_STAMP_CREATED per item, in the items order',
    )
  })
}
