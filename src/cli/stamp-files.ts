import { randomUUID } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import type { Blake3 } from '../core/hashing/blake3.ts'
import { createStamp, type StampType, serializeSidecar, sidecarPath } from '../core/stamp/index.ts'
import { writeFileAtomic } from './files/atomic-write.ts'
import { collectFiles } from './files/collect.ts'
import { reasonOf } from './files/error-text.ts'
import { fileReporter } from './files/progress.ts'
import { readSidecar } from './files/read-sidecar.ts'

export interface StampFilesOptions {
  blake3: Blake3
  /** Write the changes; otherwise only report what would change. */
  write: boolean
  stampType: StampType
  namespace: string
  recursive: boolean
  out: NodeJS.WritableStream
  err: NodeJS.WritableStream
  /** @default () => new Date() */
  now?: () => Date
}

export interface StampFilesSummary {
  files: number
  changed: number
  unchanged: number
  errors: number
}

/**
 * `omninode stamp`: stamps each file in place (text with a comment syntax) or writes a sidecar beside it
 * (binary content, JSON, CSV). Dry run unless `write`: every line says what would happen and nothing is
 * touched. Each write is atomic, so an interrupted run leaves every file either as it was or stamped.
 * A file that cannot be read or written is reported and the others go on; the exit code is then 2.
 */
export async function stampFiles(paths: readonly string[], options: StampFilesOptions): Promise<number> {
  const { files, problems } = await collectFiles(paths, options.recursive)
  const summary: StampFilesSummary = {
    files: files.length,
    changed: 0,
    unchanged: 0,
    errors: problems.length,
  }
  const report = fileReporter(files.length, options.out, options.err)
  for (const problem of problems) report.line(`error        ${problem.path}: ${problem.reason}`)
  const now = options.now ?? (() => new Date())
  const verb = options.write
    ? { stamp: 'stamped     ', sidecar: 'wrote       ' }
    : { stamp: 'would stamp ', sidecar: 'would write ' }

  for (const path of files) {
    try {
      const result = createStamp({
        bytes: await readFile(path),
        filePath: path,
        namespace: options.namespace,
        stampType: options.stampType,
        uid: randomUUID(),
        timestamp: now().toISOString(),
        hash: (bytes) => options.blake3.hashHex(bytes),
        sidecar: await readSidecar(path),
      })
      const hash = `${result.fileHash.slice(0, 12)}…`
      if (!result.changed) {
        summary.unchanged++
        report.line(`unchanged    ${path}  (${result.stampType}, ${hash})`)
      } else if (result.stampedBytes !== null) {
        if (options.write) await writeFileAtomic(path, result.stampedBytes)
        summary.changed++
        report.line(`${verb.stamp} ${path}  (${result.stampType}, ${hash})`)
      } else if (result.sidecar !== null) {
        const target = sidecarPath(path)
        if (options.write) await writeFileAtomic(target, serializeSidecar(result.sidecar))
        summary.changed++
        report.line(`${verb.sidecar} ${target}  (sidecar of ${result.fileType.kind} content, ${hash})`)
      }
    } catch (err) {
      summary.errors++
      report.line(`error        ${path}: ${reasonOf(err)}`)
    }
    report.tick()
  }
  report.stop()

  const changed = options.write ? `${summary.changed} stamped` : `${summary.changed} would change`
  const tail =
    options.write || summary.changed === 0 ? '' : '; nothing was written, run again with --write to apply'
  options.out.write(
    `${plural(summary.files, 'file')}: ${changed}, ${summary.unchanged} unchanged, ${plural(summary.errors, 'error')}${tail}\n`,
  )
  return summary.errors > 0 ? 2 : 0
}

export function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`
}
