import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { compatibilityPartitioner } from '@platformatic/kafka'
import { murmur2, murmur2Bytes, partitionFor } from '../../../../src/adapters/bus/partition.ts'

describe('partitionFor', () => {
  it("is Kafka's murmur2 (the Java client's test vectors)", () => {
    const vectors: Array<[string, number]> = [
      ['21', -973932308],
      ['foobar', -790332482],
      ['a-little-bit-long-string', -985981536],
      ['a-little-bit-longer-string', -1486304829],
      ['lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8', -58897971],
      ['abc', 479470107],
    ]
    for (const [key, hash] of vectors) assert.equal(murmur2(key), hash, key)
    assert.equal(murmur2Bytes(new Uint8Array([0x61, 0x62, 0x63])), 479470107)
  })

  it('hashes the UTF-8 bytes of any key, short or long', () => {
    const encoder = new TextEncoder()
    for (const key of ['', 'é', '☃', '𝄞 key', 'x'.repeat(1000), '☃'.repeat(400)]) {
      assert.equal(murmur2(key), murmur2Bytes(encoder.encode(key)), key.slice(0, 10))
    }
  })

  it("agrees with @platformatic/kafka's compatibilityPartitioner (the Java client's rule)", () => {
    for (let i = 0; i < 500; i++) {
      const key = `key-${i}-${'é'.repeat(i % 5)}`
      const expected = compatibilityPartitioner({ topic: 'topic' } as never, Buffer.from(key)) % 6
      assert.equal(partitionFor(key, 6), expected, key)
    }
  })

  it('spreads keys over every partition', () => {
    const counts = new Array(6).fill(0)
    for (let i = 0; i < 6000; i++) counts[partitionFor(crypto.randomUUID(), 6)]++
    for (const n of counts) assert.ok(n > 800 && n < 1200, `${counts}`)
  })
})
