import { readFile } from 'node:fs/promises'
import { sidecarPath } from '../../core/stamp/index.ts'

/** The bytes of the sidecar beside `path`, or undefined when it has none. */
export async function readSidecar(path: string): Promise<Uint8Array | undefined> {
  try {
    return await readFile(sidecarPath(path))
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw err
  }
}
