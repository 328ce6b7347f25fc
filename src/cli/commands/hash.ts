import { type Command, Option } from 'commander'
import { loadBlake3 } from '../../core/hashing/blake3.ts'
import { hashFiles } from '../hash-files.ts'

export function registerHashCommand(program: Command): void {
  program
    .command('hash')
    .description('print the BLAKE3 of each file as b3sum does (`-` or nothing: standard input)')
    .argument('[files...]', 'files to hash')
    .addOption(
      new Option('--backend <backend>', 'BLAKE3 implementation')
        .choices(['auto', 'native', 'wasm'])
        .default('auto'),
    )
    .action(async (files: string[], opts: { backend: 'auto' | 'native' | 'wasm' }) => {
      const blake3 = await loadBlake3(opts.backend)
      process.exitCode = await hashFiles(files, { blake3, out: process.stdout, err: process.stderr })
    })
}
