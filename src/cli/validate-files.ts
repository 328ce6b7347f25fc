import { readFile } from 'node:fs/promises'
import type { Blake3 } from '../core/hashing/blake3.ts'
import { validateStamps } from '../core/stamp/index.ts'
import { collectFiles } from './files/collect.ts'
import { reasonOf } from './files/error-text.ts'
import { fileReporter } from './files/progress.ts'
import { readSidecar } from './files/read-sidecar.ts'
import { plural } from './stamp-files.ts'

export interface ValidateFilesOptions {
  blake3: Blake3
  recursive: boolean
  out: NodeJS.WritableStream
  err: NodeJS.WritableStream
}

/** Exit codes of `omninode validate`. */
export const validateExit = { allValid: 0, invalid: 1, error: 2 } as const

/**
 * `omninode validate`: checks every stamp of each file (embedded, or its sidecar) against the current
 * content. Exit 0 when every file is stamped and valid, 1 when any is tampered or unstamped, 2 when any
 * could not be read (an error outranks a bad stamp: the answer is incomplete).
 */
export async function validateFiles(
  paths: readonly string[],
  options: ValidateFilesOptions,
): Promise<number> {
  const { files, problems } = await collectFiles(paths, options.recursive)
  const report = fileReporter(files.length, options.out, options.err)
  const counts = { valid: 0, tampered: 0, unstamped: 0, errors: problems.length }
  for (const problem of problems) report.line(`error      ${problem.path}: ${problem.reason}`)

  for (const path of files) {
    try {
      const result = validateStamps({
        bytes: await readFile(path),
        filePath: path,
        hash: (bytes) => options.blake3.hashHex(bytes),
        sidecar: await readSidecar(path),
      })
      const now = `${result.currentHash.slice(0, 12)}…`
      if (!result.stamped) {
        counts.unstamped++
        report.line(`unstamped  ${path}  (content ${now})`)
      } else if (result.valid) {
        counts.valid++
        const types = [...new Set(result.stamps.map((s) => s.type))].join('+')
        report.line(`valid      ${path}  (${types}, ${now})`)
      } else {
        counts.tampered++
        const bad = result.stamps.find((s) => !s.valid)!
        const where = bad.line === undefined ? bad.type : `${bad.type} stamp on line ${bad.line}`
        report.line(`TAMPERED   ${path}  (${where} says ${bad.hash.slice(0, 12)}…, content is ${now})`)
      }
    } catch (err) {
      counts.errors++
      report.line(`error      ${path}: ${reasonOf(err)}`)
    }
    report.tick()
  }
  report.stop()

  options.out.write(
    `${plural(files.length, 'file')}: ${counts.valid} valid, ${counts.tampered} tampered, ${counts.unstamped} unstamped, ${plural(counts.errors, 'error')}\n`,
  )
  if (counts.errors > 0) return validateExit.error
  return counts.tampered + counts.unstamped > 0 ? validateExit.invalid : validateExit.allValid
}
