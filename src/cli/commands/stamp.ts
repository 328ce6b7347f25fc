import { type Command, Option } from 'commander'
import Type from 'typebox'
import { loadBlake3 } from '../../core/hashing/blake3.ts'
import { compileParser } from '../../core/schema.ts'
import { DEFAULT_NAMESPACE, NAMESPACE_PATTERN, type StampType } from '../../core/stamp/index.ts'
import { stampFiles } from '../stamp-files.ts'

const parseNamespace = compileParser(Type.String({ pattern: NAMESPACE_PATTERN.source }), '--namespace')

export function registerStampCommand(program: Command): void {
  program
    .command('stamp')
    .description(
      'stamp files with their BLAKE3 (dry run: shows what would change; --write applies). ' +
        'Binary files, JSON and CSV get a sidecar .<name>.onex-meta.json and are never modified.',
    )
    .argument('<paths...>', 'files, or directories (their files; with --recursive, all below)')
    .option('--write', 'write the stamps (default: dry run)', false)
    .addOption(
      new Option('--type <type>', 'stamp form for text files')
        .choices(['lightweight', 'rich', 'sidecar'])
        .default('lightweight'),
    )
    .option('--namespace <namespace>', 'namespace of the stamps', DEFAULT_NAMESPACE)
    .option('-r, --recursive', 'walk directories (skips .git, node_modules and sidecars)', false)
    .action(
      async (
        paths: string[],
        opts: { write: boolean; type: StampType; namespace: string; recursive: boolean },
      ) => {
        const namespace = parseNamespace(opts.namespace)
        process.exitCode = await stampFiles(paths, {
          blake3: await loadBlake3('auto'),
          write: opts.write,
          stampType: opts.type,
          namespace,
          recursive: opts.recursive,
          out: process.stdout,
          err: process.stderr,
        })
      },
    )
}
