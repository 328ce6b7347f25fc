import assert from 'node:assert/strict'
import { randomInt } from 'node:crypto'
import { it } from 'node:test'
import { type Blake3Hasher, loadBlake3 } from '../../../../src/core/hashing/blake3.ts'

// A seeded xorshift32, so that a failure names a seed that reproduces it.
function generator(seed: number): () => number {
  let state = seed || 1
  return () => {
    state ^= state << 13
    state ^= state >>> 17
    state ^= state << 5
    return state >>> 0
  }
}

function randomBytes(next: () => number, length: number): Uint8Array {
  const bytes = new Uint8Array(length)
  for (let i = 0; i < length; i++) bytes[i] = next() & 0xff
  return bytes
}

function feedRandomly(next: () => number, hasher: Blake3Hasher, data: Uint8Array): string {
  for (let at = 0; at < data.length; ) {
    const size = 1 + (next() % 5000)
    hasher.update(data.subarray(at, at + size))
    at += size
  }
  return hasher.digestHex()
}

// Sizes around the block (64 B) and chunk (1 KiB) edges and across the tree's levels, plus random ones.
const EDGE_SIZES = [0, 1, 2, 31, 32, 63, 64, 65, 127, 128, 1023, 1024, 1025, 2047, 2048, 2049, 4095, 4096]
const LARGE_SIZES = [4097, 8191, 8193, 16385, 65535, 65536, 65537, 1_048_576 + 3, 3 * 1_048_576 + 11]

it('native and wasm agree, one-shot and streaming, on random inputs of many sizes', async () => {
  const [native, wasm] = await Promise.all([loadBlake3('native'), loadBlake3('wasm')])
  const seed = randomInt(1, 2 ** 31)
  const next = generator(seed)
  const sizes = [...EDGE_SIZES, ...LARGE_SIZES, ...Array.from({ length: 40 }, () => next() % 200_000)]
  for (const size of sizes) {
    const data = randomBytes(next, size)
    const context = `size ${size}, seed ${seed}`
    const expected = native.hashHex(data)
    assert.equal(wasm.hashHex(data), expected, `wasm one-shot, ${context}`)
    assert.equal(feedRandomly(next, native.createHasher(), data), expected, `native streaming, ${context}`)
    assert.equal(feedRandomly(next, wasm.createHasher(), data), expected, `wasm streaming, ${context}`)
  }
})
