import assert from 'node:assert/strict'
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { ContractError } from '../../src/core/errors.ts'
import { startTestBridge } from '../helpers/bridge.ts'
import { runOmninode } from '../helpers/child-server.ts'

const stampingContract = readFileSync(
  new URL('../../src/nodes/stamping/contract.yaml', import.meta.url),
  'utf8',
)

/** A contract dir holding `text` as the stamping node's contract. */
function contractDir(text: string): { dir: string; file: string } {
  const dir = mkdtempSync(join(tmpdir(), 'omninode-contracts-'))
  mkdirSync(join(dir, 'stamping'))
  const file = join(dir, 'stamping', 'contract.yaml')
  writeFileSync(file, text)
  return { dir, file }
}

test('omninode serve with a bad contract exits 2 before anything runs, naming the file and the field', {
  timeout: 60_000,
}, async () => {
  const { dir, file } = contractDir(stampingContract.replace('node_type: EFFECT', 'node_type: EFFCT'))
  const dataDir = mkdtempSync(join(tmpdir(), 'omninode-data-'))
  const run = await runOmninode(['serve', '--port', '0', '--data-dir', dataDir], {
    OMNINODE_CONTRACT_DIR: dir,
  })
  assert.equal(run.code, 2)
  assert.equal(
    run.stderr,
    `omninode: invalid contract ${file} at node_type: must be one of "EFFECT", "COMPUTE", "REDUCER", "ORCHESTRATOR"\n`,
  )
  assert.doesNotMatch(run.stdout, /listening|migrated/, 'nothing started')
})

test('a contract that does not publish an event its node emits stops the bridge at start', async (t) => {
  const { dir } = contractDir(
    stampingContract.replace('    - { event: BLAKE3_HASH_GENERATED, topic: blake3-hash-generated }\n', ''),
  )
  await assert.rejects(
    startTestBridge(t, { config: { contractDir: dir } }),
    (err: unknown) =>
      err instanceof ContractError &&
      /event_type\.published_events: does not declare BLAKE3_HASH_GENERATED/.test(err.message),
  )
})

test("a contract dir that overrides another node's contract leaves the stamping node its own", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'omninode-contracts-'))
  const bridge = await startTestBridge(t, { config: { contractDir: dir } })
  const res = await bridge.app.inject({ method: 'POST', url: '/hash', payload: { content: 'x' } })
  assert.equal(res.statusCode, 200)
})

test('an override with a changed topic is obeyed: the contract decides where events go', async (t) => {
  const { dir } = contractDir(
    stampingContract.replace(
      '{ event: METADATA_STAMP_CREATED, topic: metadata-stamp-created }',
      '{ event: METADATA_STAMP_CREATED, topic: metadata-stamp-validated }',
    ),
  )
  const bridge = await startTestBridge(t, { config: { contractDir: dir } })
  const res = await bridge.app.inject({ method: 'POST', url: '/stamp', payload: { content: 'routed\n' } })
  assert.equal(res.statusCode, 200)
  const { rows } = await bridge.db.query<{ topic: string }>(
    `SELECT topic FROM event_logs WHERE event_type = 'METADATA_STAMP_CREATED'
     UNION ALL SELECT topic FROM event_outbox`,
  )
  assert.ok(rows.length > 0)
  assert.ok(
    rows.every((r) => r.topic.endsWith('.metadata-stamp-validated.v1')),
    JSON.stringify(rows),
  )
})
