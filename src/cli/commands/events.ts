import { type Command, Option } from 'commander'
import Type from 'typebox'
import { compileParser } from '../../core/schema.ts'
import { BridgeClient, deadLetters, tailEvents } from '../events-client.ts'

const defaultUrl = 'http://127.0.0.1:8053'
const parseCount = (name: string, min: number, max: number) => {
  const parse = compileParser(Type.Integer({ minimum: min, maximum: max }), name)
  return (value: string) => parse(Number(value))
}

export function registerEventsCommand(program: Command): void {
  const events = program
    .command('events')
    .description("follow a running bridge's events and dead letters (its event log, over HTTP)")

  events
    .command('tail')
    .description(
      'print events as they are published, consumed or dead-lettered, one line each (Ctrl-C stops)',
    )
    .option('--url <url>', 'the bridge', process.env['OMNINODE_URL'] ?? defaultUrl)
    .option('--topic <topic>', 'only this topic')
    .option('--correlation-id <uuid>', 'only events of this correlation id')
    .option('--session-id <id>', 'only events of this session')
    .addOption(
      new Option('--direction <direction>', 'only this direction').choices([
        'published',
        'consumed',
        'dead_lettered',
      ]),
    )
    .option('--lines <n>', 'recent events printed first', parseCount('--lines', 0, 1000), 10)
    .option(
      '--count <n>',
      'stop after n events (0: follow until interrupted)',
      parseCount('--count', 0, 1e9),
      0,
    )
    .option('--interval <ms>', 'poll interval', parseCount('--interval', 50, 60_000), 1000)
    .option('--json', 'one JSON object per line', false)
    .action(
      async (opts: {
        url: string
        topic?: string
        correlationId?: string
        sessionId?: string
        direction?: 'published' | 'consumed' | 'dead_lettered'
        lines: number
        count: number
        interval: number
        json: boolean
      }) => {
        const abort = new AbortController()
        const stop = () => abort.abort()
        process.once('SIGINT', stop)
        process.once('SIGTERM', stop)
        await tailEvents(new BridgeClient(opts.url), {
          query: {
            topic: opts.topic,
            correlation_id: opts.correlationId,
            session_id: opts.sessionId,
            direction: opts.direction,
          },
          lines: opts.lines,
          count: opts.count,
          intervalMs: opts.interval,
          json: opts.json,
          write: (line) => process.stdout.write(`${line}\n`),
          signal: abort.signal,
        })
        process.off('SIGINT', stop)
        process.off('SIGTERM', stop)
      },
    )

  events
    .command('dlq')
    .description(
      'list dead letters, or republish them to their original topics with --replay (exit 1: some could not be)',
    )
    .option('--url <url>', 'the bridge', process.env['OMNINODE_URL'] ?? defaultUrl)
    .option('--topic <topic>', 'only dead letters of this topic (the original topic or its .dlq)')
    .option(
      '--limit <n>',
      'at most n dead letters (the latest when listing, the oldest when replaying)',
      parseCount('--limit', 1, 1000),
      50,
    )
    .option('--replay', 'republish the dead letters not replayed yet', false)
    .option('--json', 'JSON output', false)
    .action(async (opts: { url: string; topic?: string; limit: number; replay: boolean; json: boolean }) => {
      process.exitCode = await deadLetters(new BridgeClient(opts.url), {
        topic: opts.topic,
        limit: opts.limit,
        replay: opts.replay,
        json: opts.json,
        write: (line) => process.stdout.write(`${line}\n`),
      })
    })
}
