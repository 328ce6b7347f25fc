// `npm run bench -- <name>` runs `node bench/run.ts <name>`: imports bench/<name>.ts and awaits its run().
import { readdir } from 'node:fs/promises'
import { servers } from './cpu.ts'

const name = process.argv[2]
if (name === undefined || !/^[a-z0-9-]+$/.test(name)) {
  const benches = (await readdir(import.meta.dirname)).filter((f) => f.endsWith('.ts') && f !== 'run.ts')
  process.stderr.write(`usage: npm run bench -- <name>\nfiles in bench/: ${benches.join(', ')}\n`)
  process.exit(2)
}

try {
  servers()
} catch (err) {
  process.stderr.write(`${(err as Error).message}\n`)
  process.exit(2)
}

const bench = (await import(new URL(`./${name}.ts`, import.meta.url).href)) as { run?: () => unknown }
if (typeof bench.run !== 'function') {
  process.stderr.write(`bench/${name}.ts exports no run() function\n`)
  process.exit(2)
}
await bench.run()
