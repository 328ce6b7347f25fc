import assert from 'node:assert/strict'
import { test } from 'node:test'
import { migrate } from '../../../../src/adapters/db/migrate.ts'
import { LeaderLoop } from '../../../../src/nodes/registry/leader-loop.ts'
import { Leadership } from '../../../../src/nodes/registry/leadership.ts'
import type { RegistryService } from '../../../../src/nodes/registry/service.ts'
import type { NodeLogger } from '../../../../src/ports/logger.ts'
import { pgliteBackend } from '../../../helpers/database-backends.ts'
import { until } from '../../../helpers/until.ts'

test('the leader loop logs leadership acquired, and released (not lost) at a clean stop', async (t) => {
  const db = await pgliteBackend.fresh(t)
  await migrate(db)
  const lines: string[] = []
  const logger: NodeLogger = {
    debug: (_o, m) => void lines.push(`debug: ${m ?? ''}`),
    info: (_o, m) => void lines.push(m ?? ''),
    warn: (_o, m) => void lines.push(`warn: ${m ?? ''}`),
    error: (_o, m) => void lines.push(`error: ${m ?? ''}`),
  }
  // nothing queued: the leader's passes find no lease to expire and no change to version
  const service = {
    expireLeases: async () => 0,
    versionChanges: async () => undefined,
  } as unknown as RegistryService
  const leadership = new Leadership(db, { name: 'registry:*', holder: 'a', ttlMs: 3_000 })
  const loop = new LeaderLoop(leadership, service, logger, { leaseMs: 3_000, versionEveryMs: 10 })
  loop.start()
  await until('leadership', () => lines.includes('registry leadership acquired'), 5_000)
  await loop.stop()
  assert.deepEqual(lines, ['registry leadership acquired', 'registry leadership released'])
})

test('a leader whose lease ran out takes it again at its next pass, not at its next renewal', async (t) => {
  const db = await pgliteBackend.fresh(t)
  await migrate(db)
  const leadership = new Leadership(db, { name: 'registry:*', holder: 'a', ttlMs: 60_000 })
  // every pass writes as the leader does: fenced by the lease
  const service = {
    expireLeases: async () => 0,
    versionChanges: () => db.transaction(async (tx) => void (await leadership.fence(tx))),
  } as unknown as RegistryService
  const quiet: NodeLogger = { debug() {}, info() {}, warn() {}, error() {} }
  // renewals every 20 s: a takeover sooner than that can only be the pass asking again
  const loop = new LeaderLoop(leadership, service, quiet, { leaseMs: 60_000, versionEveryMs: 10 })
  t.after(() => loop.stop())
  loop.start()
  await until('leadership', () => leadership.epoch === 1, 5_000)
  // the lease runs out under the leader, as in a database outage longer than it
  await db.query(`UPDATE leases SET expires_at = now() - interval '1 second'`)
  await until('leadership taken again', () => leadership.epoch === 2, 5_000)
})
