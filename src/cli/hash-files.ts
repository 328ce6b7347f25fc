import { once } from 'node:events'
import type { Blake3 } from '../core/hashing/blake3.ts'
import { b3sumLine } from './b3sum-line.ts'
import { reasonOf } from './files/error-text.ts'
import { allocateReadBuffers, hashFileInto, hashStreamInto } from './hash-input.ts'

export interface HashFilesOptions {
  blake3: Blake3
  /** Receives one `b3sum` line per input. */
  out: NodeJS.WritableStream
  /** Receives one `omninode hash: <path>: <reason>` line per input that cannot be read. */
  err: NodeJS.WritableStream
  /** Read for the path `-`. @default process.stdin */
  stdin?: NodeJS.ReadableStream
}

/**
 * `omninode hash [path...]`, output for output like `b3sum`: each file's BLAKE3 as `<64 hex>  <path>`,
 * in argument order; `-` (or no paths) reads stdin. An unreadable input is reported on `err` and
 * skipped, and the exit code is then 1, else 0.
 */
export async function hashFiles(paths: string[], options: HashFilesOptions): Promise<number> {
  const { blake3, out, err } = options
  const buffers = allocateReadBuffers()
  let exitCode = 0
  for (const path of paths.length === 0 ? ['-'] : paths) {
    const hasher = blake3.createHasher()
    try {
      if (path === '-') await hashStreamInto(options.stdin ?? process.stdin, hasher)
      else await hashFileInto(path, hasher, buffers)
    } catch (error) {
      exitCode = 1
      await write(err, `omninode hash: ${path}: ${reason(error)}\n`)
      continue
    }
    await write(out, b3sumLine(hasher.digestHex(), path))
  }
  return exitCode
}

// Waits for 'drain' when the stream asks, so that hashing many files into a slow pipe stays bounded.
async function write(stream: NodeJS.WritableStream, text: string): Promise<void> {
  if (!stream.write(text)) await once(stream, 'drain')
}

// The system's wording ("No such file or directory"), as b3sum prints it, rather than Node's
// "ENOENT: no such file or directory, open '<path>'", which repeats the path.
function reason(error: unknown): string {
  const text = reasonOf(error)
  return text.charAt(0).toUpperCase() + text.slice(1)
}
