import type { Command } from 'commander'
import { loadConfig } from '../../runtime/config/load.ts'
import { createLogger } from '../../runtime/logger.ts'
import { runServer, stopOnSignals } from '../../runtime/server.ts'

export function registerServeCommand(program: Command): void {
  program
    .command('serve')
    .description('run the bridge: every node in one process, embedded database unless DATABASE_URL is set')
    .option('--host <address>', 'address to bind (OMNINODE_HOST, default 127.0.0.1)')
    .option('--port <port>', 'HTTP port (OMNINODE_PORT, default 8053)')
    .option('--data-dir <dir>', 'embedded database directory (OMNINODE_DATA_DIR, default .omninode)')
    .option('--nodes <list>', 'nodes to host, comma-separated (OMNINODE_NODES, default all)')
    .option('--log-level <level>', 'log level (OMNINODE_LOG_LEVEL, default info)')
    .option('--config <file>', 'YAML config file (OMNINODE_CONFIG, default config/<env>.yaml if present)')
    .action(async (opts: Record<string, string | undefined>) => {
      const config = loadConfig({
        flags: {
          host: opts['host'],
          port: opts['port'],
          dataDir: opts['dataDir'],
          nodes: opts['nodes'],
          logLevel: opts['logLevel'],
        },
        ...(opts['config'] ? { configFile: opts['config'] } : {}),
      })
      const logger = createLogger(config.logLevel)
      const server = await runServer(config, logger)
      stopOnSignals(server, logger)
    })
}
