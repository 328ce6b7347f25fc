// Shared fixtures for the stamp tests: a real BLAKE3 (hash-wasm) and UTF-8 helpers.
import { createBLAKE3 } from 'hash-wasm'
import type { HashFn } from '../../../../src/core/stamp/index.ts'

const hasher = await createBLAKE3()

export const blake3: HashFn = (bytes) => hasher.init().update(bytes).digest('hex')

export const UID = '123e4567-e89b-42d3-a456-426614174000'
export const UID2 = '9b2f4c1e-0d6a-4f3b-8e21-5c7d9a0b1e42'
export const TS = '2025-01-01T00:00:00.000Z'
export const TS2 = '2025-06-30T12:34:56.789Z'

export const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text)
export const text = (bytes: Uint8Array | null): string => {
  if (bytes === null) throw new Error('expected bytes, got null')
  return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes)
}

/** BLAKE3 of a string's UTF-8 bytes. */
export const hashOf = (value: string): string => blake3(utf8(value))

/** Bytes from a mix of ASCII strings and byte values, padded with zeros to `length`. */
export function bytesOf(parts: Array<string | number[]>, length = 0): Uint8Array {
  const out: number[] = []
  for (const part of parts) {
    if (typeof part === 'string') for (const ch of part) out.push(ch.charCodeAt(0))
    else out.push(...part)
  }
  while (out.length < length) out.push(0)
  return Uint8Array.from(out)
}
