import type { Dirent } from 'node:fs'
import { readdir, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { SIDECAR_SUFFIX } from '../../core/stamp/index.ts'
import { reasonOf } from './error-text.ts'

/** Directories a walk never enters: version control, dependencies and our own data. */
const skippedDirectories = new Set(['.git', '.hg', '.svn', 'node_modules', '.omninode'])

export interface CollectedFiles {
  files: string[]
  /** Arguments that could not be read, with the reason. */
  problems: Array<{ path: string; reason: string }>
}

/**
 * The files named by `FILE|DIR...` arguments, in argument order and then in name order: a directory
 * gives its files, and with `recursive` the files of its subdirectories too. Sidecars
 * (`*.onex-meta.json`) are metadata, never content, so a walk leaves them out; symbolic links inside a
 * directory are not followed (a named link is).
 */
export async function collectFiles(paths: readonly string[], recursive: boolean): Promise<CollectedFiles> {
  const files: string[] = []
  const problems: CollectedFiles['problems'] = []
  const seen = new Set<string>()
  const add = (path: string) => {
    if (!seen.has(path)) {
      seen.add(path)
      files.push(path)
    }
  }

  async function walk(dir: string): Promise<void> {
    let entries: Dirent[]
    try {
      entries = await readdir(dir, { withFileTypes: true })
    } catch (err) {
      problems.push({ path: dir, reason: reasonOf(err) })
      return
    }
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    for (const entry of entries) {
      const path = join(dir, entry.name)
      if (entry.isFile() && !entry.name.endsWith(SIDECAR_SUFFIX)) add(path)
      else if (entry.isDirectory() && recursive && !skippedDirectories.has(entry.name)) await walk(path)
    }
  }

  for (const path of paths) {
    try {
      const stats = await stat(path)
      if (stats.isDirectory()) await walk(path)
      else if (stats.isFile()) add(path)
      else problems.push({ path, reason: 'not a regular file or directory' })
    } catch (err) {
      problems.push({ path, reason: reasonOf(err) })
    }
  }
  return { files, problems }
}
