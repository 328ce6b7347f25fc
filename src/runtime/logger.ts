import pino, { type Logger } from 'pino'

/** JSON logs; human-readable when a person is watching the terminal. */
export function createLogger(level: string, options: { pretty?: boolean } = {}): Logger {
  const pretty = options.pretty ?? (process.stdout.isTTY === true && process.env['CI'] !== 'true')
  return pino({
    level,
    base: { service: 'omninode-bridge' },
    ...(pretty
      ? {
          transport: {
            target: 'pino-pretty',
            options: { translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname,service' },
          },
        }
      : {}),
  })
}

export type { Logger }
