/**
 * `npm run bench -- http`: the bridge over real sockets on 127.0.0.1, loaded by autocannon (pipelining 1)
 * at 100 and 1000 connections, BENCH_DURATION_S seconds per case (default 10) after a 2 s warm-up:
 * - bare: GET / of a fastify hello-world, the anchor;
 * - bare_post: POST /hash of a fastify app with that one route (BLAKE3 of the 1 KiB raw body as JSON), the
 *   second anchor: the floor for a route that receives a body, so that hash_vs_bare_post_ratio shows what
 *   the bridge adds (its events, event log, metrics, unified responses) and bare_post_vs_bare_ratio what
 *   a body costs fastify and autocannon before any of it;
 * - hash: the bridge's POST /hash with a 1 KiB raw body (application/octet-stream);
 * - stamp: POST /stamp of a small Python file, new content every request, so each one stores a new row:
 *   on PGlite in a data dir (the embedded default, durable commits), then on PostgreSQL
 *   (BENCH_DATABASE_URL, else scripts/infra/postgres.sh; a line with "skipped" when there is none).
 * Per case: req/s (mean of the one-second samples), latency p50/p95/p99 of the 2xx responses, failed
 * requests (non-2xx, errors, timeouts), the server's peak RSS and its CPU time per request; and
 * hash_vs_bare_ratio of req/s.
 *
 * Every case gets a fresh server process (bench/http-server.ts), so its RSS is its own and not
 * autocannon's; the bridge runs with the V8 flags bin/omninode gives it (bridgeNodeFlags) and listens
 * as `omninode serve` does (OMNINODE_HTTP_ACCEPTORS sockets on its port, runtime/listen.ts); the
 * anchors as a bare fastify does, with one. Peak RSS is the kernel's VmHWM of that process, reset after the warm-up, so that it is the
 * peak under the measured load (start-up peaks are reported beside it), and never below the RSS sampled
 * every 100 ms.
 *
 * On a 2-core machine autocannon and the server compete for the CPU: req/s are those of this pair, both
 * loaded. The bare anchor pays the same tax, which is why the ratio is the figure to compare across
 * machines; the server's CPU time per request depends least on what else runs. Latencies are measured
 * by autocannon, so they include its own queueing at 1000 connections.
 */
import { spawn } from 'node:child_process'
import { randomBytes, randomUUID } from 'node:crypto'
import { once } from 'node:events'
import { readFileSync, writeFileSync } from 'node:fs'
import { loadavg } from 'node:os'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import autocannon, { type AutocannonOptions, type AutocannonResult } from 'autocannon'
import { configKeys } from '../src/runtime/config/keys.ts'
import { onInterrupt } from './cleanup.ts'
import { percentiles, round } from './measure.ts'
import { openBenchPostgres } from './postgres.ts'
import { report, skipped } from './report.ts'

const DURATION_S = Number(process.env['BENCH_DURATION_S'] ?? 10)
const WARMUP_S = 2
const CONNECTIONS = [100, 1000]
const serverScript = fileURLToPath(new URL('./http-server.ts', import.meta.url))
/** What bin/omninode passes to node (its comment says why). */
const bridgeNodeFlags = ['--max-semi-space-size=4', '--max-old-space-size=1024']

const goals = {
  hashVsBare: 0.6,
  p95Ms: 10,
  p95AtConnections: 100,
  noFailuresAtConnections: 1000,
  rssMiB: 512,
}

interface Case {
  name: string
  method: 'GET' | 'POST'
  /** Goes into the URL: autocannon takes the path from there, not from its `path` option. */
  path: string
  server: 'bare' | 'bare-post' | 'bridge'
  /** The bridge's database, for the report. */
  database?: string
  env?: Record<string, string>
  /** autocannon's other request options; called once per run. */
  request?: () => Omit<AutocannonOptions, 'url' | 'method'>
}

const oneKiB = randomBytes(1024)
const stampRun = randomUUID()
let stamps = 0

const bare: Case = { name: 'bare', method: 'GET', path: '/', server: 'bare' }

/** The second anchor: a bare fastify POST route that hashes the same 1 KiB raw body, no bridge. */
const barePost: Case = {
  name: 'bare_post',
  method: 'POST',
  path: '/hash',
  server: 'bare-post',
  request: () => ({ headers: { 'content-type': 'application/octet-stream' }, body: oneKiB }),
}

const hash: Case = {
  name: 'hash',
  method: 'POST',
  path: '/hash',
  server: 'bridge',
  database: 'pglite_disk',
  request: () => ({ headers: { 'content-type': 'application/octet-stream' }, body: oneKiB }),
}

function stampCase(database: string, env: Record<string, string> = {}): Case {
  return {
    name: 'stamp',
    method: 'POST',
    path: '/stamp',
    server: 'bridge',
    database,
    env,
    request: () => ({
      requests: [
        {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          // a new content hash per request (the run's uuid and a counter): every stamp is a new row
          setupRequest: (request) => ({
            ...request,
            body: JSON.stringify({
              content: `# ${stampRun} ${stamps++}\ndef main():\n    return 42\n`,
              file_path: 'x.py',
              namespace: 'omninode.bench.http',
            }),
          }),
        },
      ],
    }),
  }
}

export async function run(): Promise<void> {
  if (!(DURATION_S > 0)) throw new Error('BENCH_DURATION_S must be a number of seconds > 0')

  for (const connections of CONNECTIONS) {
    const bareRun = await measure(bare, connections)
    const barePostRun = await measure(barePost, connections)
    const hashRun = await measure(hash, connections)
    await measure(stampCase('pglite_disk'), connections)
    const ratio = hashRun.reqPerS / bareRun.reqPerS
    report('http', 'hash_vs_bare_ratio', round(ratio), 'x', {
      connections,
      goal: `>= ${goals.hashVsBare}`,
      meets_goal: ratio >= goals.hashVsBare,
      // what the ratio would be if both servers had the CPU to themselves: bare's CPU time per request
      // over /hash's, less sensitive to autocannon and to other load on the machine
      cpu_time_ratio: round(bareRun.cpuUsPerReq / hashRun.cpuUsPerReq),
    })
    // against the bare POST route: what the bridge adds to receiving, hashing and answering a body
    report('http', 'hash_vs_bare_post_ratio', round(hashRun.reqPerS / barePostRun.reqPerS), 'x', {
      connections,
      cpu_time_ratio: round(barePostRun.cpuUsPerReq / hashRun.cpuUsPerReq),
      bare_post_vs_bare_ratio: round(barePostRun.reqPerS / bareRun.reqPerS),
    })
  }

  let pg: Awaited<ReturnType<typeof openBenchPostgres>>
  try {
    pg = await openBenchPostgres()
  } catch (err) {
    skipped('http', 'stamp_postgres', (err as Error).message, { case: 'stamp', database: 'postgres' })
    return
  }
  try {
    for (const connections of CONNECTIONS) {
      const stamp = stampCase('postgres', { DATABASE_URL: pg.url })
      await measure(stamp, connections, {
        db_pool_size: configKeys.dbPoolSize.default,
        server: pg.source,
      }).catch((err: unknown) => {
        skipped('http', 'stamp_postgres', (err as Error).message, {
          case: 'stamp',
          database: 'postgres',
          connections,
        })
      })
    }
  } finally {
    await pg.close()
  }
}

/** One case at one connection count, on a fresh server; reports its lines and returns its rates. */
async function measure(
  c: Case,
  connections: number,
  more: Record<string, unknown> = {},
): Promise<{ reqPerS: number; cpuUsPerReq: number }> {
  const server = await startServer(c)
  try {
    const startupPeakKiB = statusKiB(server.pid, 'VmHWM')
    const idleKiB = statusKiB(server.pid, 'VmRSS')
    await load(server.url, c, connections, WARMUP_S)
    const peakWasReset = resetPeakRss(server.pid)

    let sampledMaxKiB = 0
    const sampler = setInterval(() => {
      sampledMaxKiB = Math.max(sampledMaxKiB, statusKiB(server.pid, 'VmRSS'))
    }, 100)
    const times: number[] = []
    let result: AutocannonResult
    const cpuBeforeMs = cpuMs(server.pid)
    try {
      result = await load(server.url, c, connections, DURATION_S, times)
    } finally {
      clearInterval(sampler)
    }
    const cpuUsPerReq = ((cpuMs(server.pid) - cpuBeforeMs) * 1000) / Math.max(1, result.requests.total)
    const peakKiB = peakWasReset ? Math.max(statusKiB(server.pid, 'VmHWM'), sampledMaxKiB) : sampledMaxKiB

    const bridge = c.server === 'bridge'
    const extra = {
      case: c.name,
      route: `${c.method} ${c.path}`,
      connections,
      duration_s: result.duration,
      ...(c.database ? { database: c.database } : {}),
      ...more,
    }
    const latency = percentiles(Float64Array.from(times))
    const failed = result.non2xx + result.errors
    report('http', 'req_per_s', round(result.requests.average), 'req/s', {
      ...extra,
      responses_2xx: result['2xx'],
      load_avg_1m: round(loadavg()[0]!),
    })
    report('http', 'latency_p50', round(latency.p50), 'ms', extra)
    report('http', 'latency_p95', round(latency.p95), 'ms', {
      ...extra,
      ...(bridge && connections === goals.p95AtConnections
        ? { goal: `< ${goals.p95Ms} ms`, meets_goal: latency.p95 < goals.p95Ms }
        : {}),
    })
    report('http', 'latency_p99', round(latency.p99), 'ms', { ...extra, max_ms: round(latency.max) })
    report('http', 'failed_requests', failed, 'requests', {
      ...extra,
      non_2xx: result.non2xx,
      errors: result.errors,
      timeouts: result.timeouts,
      status_codes: Object.fromEntries(Object.entries(result.statusCodeStats).map(([s, v]) => [s, v.count])),
      ...(bridge && connections === goals.noFailuresAtConnections
        ? { goal: 'none', meets_goal: failed === 0 }
        : {}),
    })
    report('http', 'peak_rss', round(peakKiB / 1024), 'MiB', {
      ...extra,
      peak_of: peakWasReset ? 'VmHWM, reset after the warm-up' : 'VmRSS sampled every 100 ms',
      rss_idle_mib: round(idleKiB / 1024),
      rss_startup_peak_mib: round(startupPeakKiB / 1024),
      rss_sampled_max_mib: round(sampledMaxKiB / 1024),
      ...(bridge ? { goal: `< ${goals.rssMiB} MiB`, meets_goal: peakKiB / 1024 < goals.rssMiB } : {}),
    })
    report('http', 'server_cpu_per_req', round(cpuUsPerReq), 'us', {
      ...extra,
      server_cpu_cores: round((cpuUsPerReq * result.requests.total) / 1e6 / result.duration),
    })
    return { reqPerS: result.requests.average, cpuUsPerReq }
  } finally {
    await server.stop()
  }
}

/** Runs autocannon; with `times`, collects the latency (ms, unrounded) of every 2xx response into it. */
async function load(
  url: string,
  c: Case,
  connections: number,
  durationS: number,
  times?: number[],
): Promise<AutocannonResult> {
  const instance = autocannon({
    url: `${url}${c.path}`,
    method: c.method,
    connections,
    duration: durationS,
    pipelining: 1,
    ...c.request?.(),
  })
  // autocannon's own latency histogram has whole-millisecond resolution and no p95: keep the raw times
  if (times) {
    instance.on('response', (_client: unknown, status: number, _bytes: number, ms: number) => {
      if (status >= 200 && status < 300) times.push(ms)
    })
  }
  return await instance
}

interface Server {
  url: string
  pid: number
  stop(): Promise<void>
}

/** bench/http-server.ts in a child process, once it listens. */
async function startServer(c: Case): Promise<Server> {
  const env: Record<string, string | undefined> = { ...process.env, ...c.env }
  if (!c.env?.['DATABASE_URL']) delete env['DATABASE_URL']
  // the bridge with the V8 flags bin/omninode gives it; the bare anchor as plain node
  const flags = c.server === 'bridge' ? bridgeNodeFlags : []
  const child = spawn(process.execPath, [...flags, serverScript, c.server], {
    env,
    // stdin stays open: the server stops when it closes, that is when this process is gone
    stdio: ['pipe', 'pipe', 'inherit'],
  })
  const exited = once(child, 'exit')
  let stopping: Promise<void> | undefined
  const stop = () => {
    stopping ??= (async () => {
      if (child.exitCode !== null || child.signalCode !== null) return
      child.kill('SIGTERM')
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000)
      await exited
      clearTimeout(timer)
    })()
    return stopping
  }
  const forget = onInterrupt(stop)
  try {
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`${c.server} server did not listen within 60 s`)),
        60_000,
      )
      createInterface({ input: child.stdout! }).once('line', (line) => {
        clearTimeout(timer)
        try {
          resolve((JSON.parse(line) as { url: string }).url)
        } catch {
          reject(new Error(`${c.server} server printed ${line}, not {"url": ...}`))
        }
      })
      void exited.then(([code]) => {
        clearTimeout(timer)
        reject(new Error(`${c.server} server exited with ${code} before listening`))
      })
    })
    return { url, pid: child.pid!, stop: () => stop().finally(forget) }
  } catch (err) {
    await stop()
    forget()
    throw err
  }
}

/** CPU time (user + system) the process has used, in ms, from /proc/<pid>/stat (in ticks of 10 ms). */
function cpuMs(pid: number): number {
  try {
    // the fields after the command name, which is in parentheses and may hold spaces
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')
    return (Number(fields[11]) + Number(fields[12])) * 10
  } catch {
    return Number.NaN
  }
}

/** Resets the process's VmHWM to its current RSS (Linux >= 4.0); false where that is not allowed. */
function resetPeakRss(pid: number): boolean {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5')
    return true
  } catch {
    return false
  }
}

/** A `VmRSS` or `VmHWM` (peak RSS) line of /proc/<pid>/status, in KiB; 0 once the process is gone. */
function statusKiB(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  try {
    const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
    return match ? Number(match[1]) : 0
  } catch {
    return 0
  }
}
