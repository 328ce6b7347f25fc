import type { Command } from 'commander'
import { type ConfigKey, type ConfigKeyName, configKeys } from '../../runtime/config/keys.ts'
import { loadConfig } from '../../runtime/config/load.ts'
import { createLogger } from '../../runtime/logger.ts'
import { runServer, stopOnSignals } from '../../runtime/server.ts'

/** Config keys that `serve` takes as flags; commander's camelCase of the flag is the key's name. */
const flagKeys = (Object.entries(configKeys) as Array<[ConfigKeyName, ConfigKey]>).filter(
  ([, key]) => key.flag,
)

export function registerServeCommand(program: Command): void {
  const serve = program
    .command('serve')
    .description('run the bridge: every node in one process, embedded database unless DATABASE_URL is set')
  for (const [, key] of flagKeys) {
    const fallback = key.default === undefined ? '' : `, default ${String(key.default)}`
    serve.option(`${key.flag} <value>`, `${key.description} (${key.env}${fallback})`)
  }
  serve
    .option('--config <file>', 'YAML config file (OMNINODE_CONFIG, default config/<env>.yaml if present)')
    .action(async (opts: Record<string, string | undefined>) => {
      const flags = Object.fromEntries(flagKeys.map(([name]) => [name, opts[name]]))
      const config = loadConfig({ flags, ...(opts['config'] ? { configFile: opts['config'] } : {}) })
      const logger = createLogger(config.logLevel)
      const server = await runServer(config, logger)
      stopOnSignals(server, logger)
    })
}
