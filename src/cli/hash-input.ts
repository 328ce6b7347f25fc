import { open } from 'node:fs/promises'
import type { Blake3Hasher } from '../core/hashing/blake3.ts'

/** Size of each file read: large enough that per-read overhead is noise, small enough to stay in cache. */
export const READ_SIZE = 1 << 20

/** Two reusable read buffers: memory stays at 2 MiB whatever the file size. */
export type ReadBuffers = readonly [Uint8Array, Uint8Array]

export function allocateReadBuffers(): ReadBuffers {
  return [new Uint8Array(READ_SIZE), new Uint8Array(READ_SIZE)]
}

/**
 * Feeds a file to `hasher` in READ_SIZE reads. While one buffer is hashed (on this thread), the next
 * read fills the other (on libuv's thread pool), so disk or page-cache copies overlap the hashing:
 * 3.5 GB/s instead of 2.0 GB/s with one buffer, natively, for a cached 1 GiB file (bench/hash.ts).
 */
export async function hashFileInto(path: string, hasher: Blake3Hasher, buffers: ReadBuffers): Promise<void> {
  const file = await open(path, 'r')
  try {
    let position = 0
    let current = 0
    let pending = file.read(buffers[0], 0, READ_SIZE, position)
    for (;;) {
      const { bytesRead } = await pending
      if (bytesRead === 0) return
      position += bytesRead
      const filled = buffers[current]!
      current ^= 1
      pending = file.read(buffers[current]!, 0, READ_SIZE, position)
      hasher.update(filled.subarray(0, bytesRead))
    }
  } finally {
    await file.close()
  }
}

/** Feeds a byte stream (stdin) to `hasher`; the stream's own backpressure bounds memory. */
export async function hashStreamInto(stream: NodeJS.ReadableStream, hasher: Blake3Hasher): Promise<void> {
  for await (const chunk of stream) {
    // A string chunk means someone called setEncoding(): the original bytes are gone.
    if (typeof chunk === 'string') throw new TypeError('input stream must yield bytes, not text')
    hasher.update(chunk)
  }
}
