/**
 * Which partition a key goes to: Kafka's own default (Java client `Utils.murmur2` over the key's UTF-8
 * bytes, `& 0x7fffffff`, mod the partition count). Every bus adapter partitions keys this way, so a key
 * lands on the same partition number in process and on a broker (and for Java producers too).
 */
export function partitionFor(key: string, partitions: number): number {
  return (murmur2(key) & 0x7fffffff) % partitions
}

const encoder = new TextEncoder()
let scratch = new Uint8Array(256)

/** Kafka's murmur2 (seed 0x9747b28c) of `key` as UTF-8, a signed 32-bit integer. */
export function murmur2(key: string): number {
  // UTF-8 takes at most 3 bytes per UTF-16 code unit
  if (key.length * 3 > scratch.length) scratch = new Uint8Array(key.length * 3)
  const length = encoder.encodeInto(key, scratch).written
  return murmur2Bytes(scratch, length)
}

const m = 0x5bd1e995

export function murmur2Bytes(data: Uint8Array, length = data.length): number {
  let h = 0x9747b28c ^ length
  const whole = length & ~3
  for (let i = 0; i < whole; i += 4) {
    let k = data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24)
    k = Math.imul(k, m)
    k ^= k >>> 24
    k = Math.imul(k, m)
    h = Math.imul(h, m) ^ k
  }
  const rest = length & 3
  if (rest > 0) {
    if (rest === 3) h ^= data[whole + 2]! << 16
    if (rest >= 2) h ^= data[whole + 1]! << 8
    h ^= data[whole]!
    h = Math.imul(h, m)
  }
  h ^= h >>> 13
  h = Math.imul(h, m)
  h ^= h >>> 15
  return h | 0
}
