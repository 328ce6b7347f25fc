import type { Command } from 'commander'
import Type from 'typebox'
import { migrate, migrationVersions } from '../../adapters/db/migrate.ts'
import { compileParser } from '../../core/schema.ts'
import { loadConfig } from '../../runtime/config/load.ts'
import { checkDatabase, openDatabase } from '../../runtime/database.ts'

const parseDown = compileParser(Type.Integer({ minimum: 0 }), '--down')

export function registerMigrateCommand(program: Command): void {
  program
    .command('migrate')
    .description('apply the database migrations (or undo the last N with --down N)')
    .option('--down <n>', 'undo the last N applied migrations')
    .option('--data-dir <dir>', 'embedded database directory (OMNINODE_DATA_DIR)')
    .option('--config <file>', 'YAML config file')
    .action(async (opts: { down?: string; dataDir?: string; config?: string }) => {
      const down = opts.down === undefined ? undefined : parseDown(Number(opts.down))
      const config = loadConfig({
        flags: { dataDir: opts.dataDir },
        ...(opts.config ? { configFile: opts.config } : {}),
      })
      const db = await openDatabase(config)
      try {
        await checkDatabase(db, config)
        const report = await migrate(db, down === undefined ? { to: 'max' } : { down })
        for (const step of report.steps) {
          process.stdout.write(
            `${step.action === 'do' ? 'applied' : 'undone '}  ${String(step.version).padStart(3, '0')} ${step.name}\n`,
          )
        }
        const { latest } = await migrationVersions(db)
        process.stdout.write(
          `database (${db.dialect}) at version ${report.to} of ${latest}${report.steps.length ? '' : ', nothing to do'}\n`,
        )
      } finally {
        await db.close()
      }
    })
}
