import { randomBytes } from 'node:crypto'
import { open, rename, rm, stat } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'

/**
 * Replaces (or creates) `path` with `data` so that a crash leaves either the old file or the new one,
 * never half of each: write a temporary file beside it, flush it to disk, then rename it over the
 * original. An existing file keeps its permission bits.
 */
export async function writeFileAtomic(path: string, data: Uint8Array | string): Promise<void> {
  const existingMode = await stat(path).then(
    (s) => s.mode & 0o7777,
    () => undefined,
  )
  const temporary = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`)
  const handle = await open(temporary, 'wx')
  try {
    if (existingMode !== undefined) await handle.chmod(existingMode)
    await handle.writeFile(data)
    await handle.sync()
    await handle.close()
    await rename(temporary, path)
  } catch (err) {
    await handle.close().catch(() => {})
    await rm(temporary, { force: true })
    throw err
  }
}
