import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { it } from 'node:test'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { loadBlake3 } from '../../../../src/core/hashing/blake3.ts'

const run = promisify(execFile)
const facadeUrl = new URL('../../../../src/core/hashing/blake3.ts', import.meta.url).href
const withoutNative = fileURLToPath(new URL('../../../fixtures/without-native-blake3.ts', import.meta.url))

it("'auto' picks the native backend where its binary loads", async () => {
  assert.equal((await loadBlake3()).backend, 'native')
  assert.equal((await loadBlake3('auto')).backend, 'native')
})

it("'wasm' picks the wasm backend", async () => {
  assert.equal((await loadBlake3('wasm')).backend, 'wasm')
})

it("without the native binary, 'auto' falls back to wasm and 'native' rejects with the reason", async () => {
  // A child process, so that the import hook cannot affect this one's module cache.
  const script = `
    const { loadBlake3 } = await import(${JSON.stringify(facadeUrl)})
    const auto = await loadBlake3('auto')
    const native = await loadBlake3('native').then(() => 'loaded', (error) => error.message)
    console.log(JSON.stringify({ backend: auto.backend, abc: auto.hashHex(new TextEncoder().encode('abc')), native }))
  `
  const { stdout } = await run(process.execPath, [
    '--import',
    withoutNative,
    '--input-type=module',
    '-e',
    script,
  ])
  assert.deepEqual(JSON.parse(stdout), {
    backend: 'wasm',
    abc: '6437b3ac38465133ffb63b75273a8db548c558465d79db03fd359c6cd5bd9d85',
    native:
      'BLAKE3 native backend (@napi-rs/blake-hash) cannot be used: simulated: no native binary for this platform',
  })
})
