import assert from 'node:assert/strict'
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { ConfigError } from '../../../src/core/errors.ts'
import { loadConfig } from '../../../src/runtime/config/load.ts'

const emptyDir = () => mkdtempSync(join(tmpdir(), 'omninode-config-'))

test('defaults bind to loopback on 8053 with every node and the embedded database', () => {
  const config = loadConfig({ env: {}, cwd: emptyDir() })
  assert.equal(config.host, '127.0.0.1')
  assert.equal(config.port, 8053)
  assert.equal(config.dataDir, '.omninode')
  assert.deepEqual(config.nodes, ['stamping', 'orchestrator', 'reducer', 'registry'])
  assert.equal(config.databaseUrl, undefined)
  assert.equal(config.configFile, undefined)
})

test('flags beat environment, environment beats the YAML file, the file beats defaults', () => {
  const cwd = emptyDir()
  const file = join(cwd, 'bridge.yaml')
  writeFileSync(file, 'port: 7000\nhost: 127.0.0.2\nlog_level: warn\n')
  const config = loadConfig({
    env: { OMNINODE_PORT: '7100', OMNINODE_HOST: '127.0.0.3' },
    flags: { port: '7200' },
    configFile: file,
    cwd,
  })
  assert.equal(config.port, 7200)
  assert.equal(config.host, '127.0.0.3')
  assert.equal(config.logLevel, 'warn')
  assert.equal(config.configFile, file)
})

test('config/<env>.yaml is read when present', () => {
  const cwd = emptyDir()
  mkdirSync(join(cwd, 'config'))
  writeFileSync(join(cwd, 'config', 'staging.yaml'), 'batch_concurrency: 3\n')
  const config = loadConfig({ env: { OMNINODE_ENV: 'staging' }, cwd })
  assert.equal(config.env, 'staging')
  assert.equal(config.batchConcurrency, 3)
})

test('lists come comma-separated from the environment', () => {
  const config = loadConfig({ env: { OMNINODE_NODES: ' stamping ' }, cwd: emptyDir() })
  assert.deepEqual(config.nodes, ['stamping'])
})

const bad: Array<[string, Record<string, string>, RegExp]> = [
  ['a port that is not a number', { OMNINODE_PORT: 'eighty' }, /OMNINODE_PORT/],
  ['a port out of range', { OMNINODE_PORT: '70000' }, /OMNINODE_PORT.*65535/],
  ['an unknown node', { OMNINODE_NODES: 'stamping,teleporter' }, /OMNINODE_NODES/],
  ['a database URL of another kind', { DATABASE_URL: 'mysql://127.0.0.1/x' }, /DATABASE_URL/],
  ['an unknown log level', { OMNINODE_LOG_LEVEL: 'loud' }, /OMNINODE_LOG_LEVEL/],
  ['an unknown hash backend', { OMNINODE_HASH_BACKEND: 'gpu' }, /OMNINODE_HASH_BACKEND/],
]
for (const [what, env, key] of bad) {
  test(`${what} is refused, naming the key`, () => {
    assert.throws(
      () => loadConfig({ env, cwd: emptyDir() }),
      (err: unknown) => {
        assert.ok(err instanceof ConfigError)
        assert.match(err.message, key)
        return true
      },
    )
  })
}

test('a flag with a bad value names the flag', () => {
  assert.throws(() => loadConfig({ env: {}, flags: { port: 'x' }, cwd: emptyDir() }), /--port/)
})

test('an unknown key in the YAML file is refused, naming the key and the file', () => {
  const cwd = emptyDir()
  const file = join(cwd, 'bad.yaml')
  writeFileSync(file, 'prot: 8053\n')
  assert.throws(() => loadConfig({ env: {}, configFile: file, cwd }), /prot \(in .*bad\.yaml\).*not a known/)
})

test('a YAML file that is not a mapping, or not YAML, is refused', () => {
  const cwd = emptyDir()
  const list = join(cwd, 'list.yaml')
  writeFileSync(list, '- a\n- b\n')
  assert.throws(() => loadConfig({ env: {}, configFile: list, cwd }), /mapping/)
  const broken = join(cwd, 'broken.yaml')
  writeFileSync(broken, 'port: [1, 2\n')
  assert.throws(() => loadConfig({ env: {}, configFile: broken, cwd }), /not valid YAML/)
})

test('an explicit config file that does not exist is refused', () => {
  assert.throws(
    () => loadConfig({ env: { OMNINODE_CONFIG: 'nope.yaml' }, cwd: emptyDir() }),
    /does not exist/,
  )
})
