import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { loadBlake3 } from '../../../../src/core/hashing/blake3.ts'

const encode = (text: string) => new TextEncoder().encode(text)
const ABC = '6437b3ac38465133ffb63b75273a8db548c558465d79db03fd359c6cd5bd9d85'
const EMPTY = 'af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262'

for (const backend of ['native', 'wasm'] as const) {
  describe(`Blake3Hasher, ${backend} backend`, () => {
    it('digests nothing as the empty-input hash', async () => {
      const blake3 = await loadBlake3(backend)
      assert.equal(blake3.createHasher().digestHex(), EMPTY)
    })

    it('refuses update() and digestHex() after digestHex()', async () => {
      const hasher = (await loadBlake3(backend)).createHasher().update(encode('abc'))
      assert.equal(hasher.digestHex(), ABC)
      assert.throws(() => hasher.update(encode('d')), /digestHex\(\) was already called/)
      assert.throws(() => hasher.digestHex(), /digestHex\(\) was already called/)
    })

    it('keeps interleaved hashers and one-shot calls apart', async () => {
      // The wasm backend shares one instance between streaming hashers: their states must not leak.
      const blake3 = await loadBlake3(backend)
      const texts = ['the quick brown fox', 'jumps over', 'the lazy dog'].map((t) => t.repeat(300))
      const hashers = texts.map(() => blake3.createHasher())
      for (let at = 0; at < 6000; at += 97) {
        hashers.forEach((hasher, i) => {
          hasher.update(encode(texts[i]!).subarray(at, at + 97))
          assert.equal(blake3.hashHex(encode('abc')), ABC)
        })
      }
      // Digest in a different order from creation, and start a new hasher in between.
      assert.equal(hashers[1]!.digestHex(), blake3.hashHex(encode(texts[1]!)))
      const late = blake3.createHasher().update(encode('ab'))
      assert.equal(hashers[2]!.digestHex(), blake3.hashHex(encode(texts[2]!)))
      assert.equal(late.update(encode('c')).digestHex(), ABC)
      assert.equal(hashers[0]!.digestHex(), blake3.hashHex(encode(texts[0]!)))
    })

    it('lets the caller reuse its buffer right after update()', async () => {
      const blake3 = await loadBlake3(backend)
      const buffer = encode('abc')
      const hasher = blake3.createHasher().update(buffer)
      buffer.fill(0)
      assert.equal(hasher.digestHex(), ABC)
    })
  })
}
