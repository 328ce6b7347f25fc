/**
 * CPU time per item, the figure that the shared machines' load disturbs least: this process
 * (process.cpuUsage) and, on Linux, the servers named in BENCH_CPU_PIDS=`name:pid[,name:pid...]`
 * (e.g. `postgres:$(head -1 DATA/postmaster.pid),kafka:$(cat KAFKA_DIR/pid)`), each with its children
 * (PostgreSQL's backends: the live ones, plus those already exited, which their parent reaped).
 */
import { readFileSync } from 'node:fs'

/** USER_HZ: 100 on every Linux architecture Node runs on. */
const ticksPerSecond = 100

/** utime + stime (+ cutime + cstime) of `pid` in seconds, from /proc/<pid>/stat; undefined when unreadable. */
function statSeconds(pid: number, withReaped: boolean): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // fields after "pid (comm) ": state is [0]; utime [11], stime [12], cutime [13], cstime [14]
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    const ticks = Number(f[11]) + Number(f[12]) + (withReaped ? Number(f[13]) + Number(f[14]) : 0)
    return ticks / ticksPerSecond
  } catch {
    return undefined
  }
}

function childrenOf(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8')
      .trim()
      .split(/\s+/)
      .filter(Boolean)
      .map(Number)
  } catch {
    return []
  }
}

/** CPU seconds of `pid` and its children, live and exited; undefined when /proc has no such process. */
export function treeCpuSeconds(pid: number): number | undefined {
  const own = statSeconds(pid, true)
  if (own === undefined) return undefined
  return childrenOf(pid).reduce((sum, child) => sum + (statSeconds(child, false) ?? 0), own)
}

/**
 * The servers of BENCH_CPU_PIDS, each checked: a malformed entry or a pid with no process throws,
 * naming it. bench/run.ts calls this before any bench starts, so that a typo fails at once rather
 * than after a warm-up (a pid without a process would otherwise just be missing from the report).
 */
export function servers(): Array<{ name: string; pid: number }> {
  const spec = process.env['BENCH_CPU_PIDS'] ?? ''
  return spec
    .split(',')
    .filter(Boolean)
    .map((part) => {
      const [name, pid] = part.split(':')
      if (!name || !/^\d+$/.test(pid ?? ''))
        throw new Error(`BENCH_CPU_PIDS: expected name:pid, got '${part}'`)
      if (treeCpuSeconds(Number(pid)) === undefined)
        throw new Error(`BENCH_CPU_PIDS: no process ${pid} (${name}) to measure; is the server running?`)
      return { name, pid: Number(pid) }
    })
}

/**
 * Starts measuring; the function returned gives µs of CPU per item since, per process: this one, the
 * servers of BENCH_CPU_PIDS and the bench's own helper processes in `others`.
 */
export function cpuMeter(
  others: ReadonlyArray<{ name: string; pid: number }> = [],
): (items: number) => Record<string, number> {
  const started = process.cpuUsage()
  const watched = [...servers(), ...others].map((s) => ({ ...s, from: treeCpuSeconds(s.pid) }))
  return (items) => {
    const own = process.cpuUsage(started)
    const out: Record<string, number> = { bench_process: (own.user + own.system) / items }
    for (const s of watched) {
      const to = treeCpuSeconds(s.pid)
      if (s.from !== undefined && to !== undefined) out[s.name] = ((to - s.from) * 1e6) / items
    }
    return out
  }
}
