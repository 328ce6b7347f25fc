#!/usr/bin/env node
import { Command, CommanderError } from 'commander'
import { isOnexError } from '../core/errors.ts'
import { bridgeVersion } from '../runtime/version.ts'
import { registerEventsCommand } from './commands/events.ts'
import { registerHashCommand } from './commands/hash.ts'
import { registerMigrateCommand } from './commands/migrate.ts'
import { registerServeCommand } from './commands/serve.ts'
import { registerStampCommand } from './commands/stamp.ts'
import { registerValidateCommand } from './commands/validate.ts'

/** `omninode`: each subcommand parses its arguments and calls runtime or core functions. */
const program = new Command('omninode')
  .description('OmniNode Bridge: BLAKE3 metadata stamps for the ONEX ecosystem')
  .version(bridgeVersion)
  .showHelpAfterError()
  .exitOverride()

registerServeCommand(program)
registerMigrateCommand(program)
registerHashCommand(program)
registerStampCommand(program)
registerValidateCommand(program)
registerEventsCommand(program)

try {
  await program.parseAsync(process.argv)
} catch (err) {
  if (err instanceof CommanderError) process.exit(err.exitCode === 0 ? 0 : 2)
  const message = isOnexError(err) ? err.message : err instanceof Error ? err.message : String(err)
  process.stderr.write(`omninode: ${message}\n`)
  process.exit(2)
}
