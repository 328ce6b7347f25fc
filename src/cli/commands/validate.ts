import type { Command } from 'commander'
import { loadBlake3 } from '../../core/hashing/blake3.ts'
import { validateFiles } from '../validate-files.ts'

export function registerValidateCommand(program: Command): void {
  program
    .command('validate')
    .description(
      'check the stamps of files against their content (exit 0 all valid, 1 tampered or unstamped, 2 error)',
    )
    .argument('<paths...>', 'files, or directories (their files; with --recursive, all below)')
    .option('-r, --recursive', 'walk directories (skips .git, node_modules and sidecars)', false)
    .action(async (paths: string[], opts: { recursive: boolean }) => {
      process.exitCode = await validateFiles(paths, {
        blake3: await loadBlake3('auto'),
        recursive: opts.recursive,
        out: process.stdout,
        err: process.stderr,
      })
    })
}
