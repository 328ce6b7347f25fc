import assert from 'node:assert/strict'
import { before, describe, it } from 'node:test'
import { type Blake3, type Blake3Hasher, loadBlake3 } from '../../../../src/core/hashing/blake3.ts'
import vectors from '../../../fixtures/blake3-test-vectors.json' with { type: 'json' }

// The official vectors' input: bytes 0, 1, ..., 250, 0, 1, ... A 251-byte cycle never lines up with
// BLAKE3's 64-byte blocks or 1024-byte chunks.
function vectorInput(length: number): Uint8Array {
  const bytes = new Uint8Array(length)
  for (let i = 0; i < length; i++) bytes[i] = i % 251
  return bytes
}

// Uneven pieces, then the rest: they cross block and chunk boundaries at odd offsets.
function feedUnevenly(hasher: Blake3Hasher, data: Uint8Array): Blake3Hasher {
  let at = 0
  for (const size of [1, 63, 1024]) {
    hasher.update(data.subarray(at, at + size))
    at += size
  }
  return hasher.update(data.subarray(at))
}

for (const backend of ['native', 'wasm'] as const) {
  describe(`BLAKE3 official test vectors, ${backend} backend`, () => {
    let blake3: Blake3
    before(async () => {
      blake3 = await loadBlake3(backend)
    })

    it('loads the requested backend', () => {
      assert.equal(blake3.backend, backend)
    })

    for (const { input_len, hash } of vectors.cases) {
      // The vectors hold 131-byte extended outputs; the default hash is their first 32 bytes.
      const expected = hash.slice(0, 64)

      it(`input_len ${input_len}: one-shot and streaming`, () => {
        const input = vectorInput(input_len)
        assert.equal(blake3.hashHex(input), expected, 'one-shot')
        assert.equal(feedUnevenly(blake3.createHasher(), input).digestHex(), expected, 'streaming')
      })
    }

    it('reads a view at a non-zero offset of a larger buffer, not the whole buffer', () => {
      const largest = vectors.cases.at(-1)!
      const padded = new Uint8Array(largest.input_len + 20).fill(0xff)
      padded.set(vectorInput(largest.input_len), 7)
      const view = padded.subarray(7, 7 + largest.input_len)
      assert.equal(blake3.hashHex(view), largest.hash.slice(0, 64))
      assert.equal(feedUnevenly(blake3.createHasher(), view).digestHex(), largest.hash.slice(0, 64))
    })
  })
}
