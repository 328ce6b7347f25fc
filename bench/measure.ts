/** Timing helpers shared by the benches: wall-clock throughput and per-call latency percentiles. */

/**
 * Calls `work` repeatedly for about `budgetMs` (after one warm-up call) and returns bytes per second
 * in GB/s (10^9). The clock is read once per batch, so that timing small inputs does not time the clock.
 */
export function throughputGBps(work: () => unknown, bytesPerCall: number, budgetMs: number): number {
  work()
  const batch = Math.max(1, Math.floor((1 << 20) / bytesPerCall))
  let calls = 0
  let elapsed = 0
  const start = performance.now()
  while (elapsed < budgetMs) {
    for (let i = 0; i < batch; i++) work()
    calls += batch
    elapsed = performance.now() - start
  }
  return (bytesPerCall * calls) / (elapsed / 1000) / 1e9
}

export interface Latency {
  p50: number
  p95: number
  p99: number
  p999: number
  max: number
}

/** Times each of `samples` calls (after as many warm-up calls) and returns percentiles in ms. */
export function latencyMs(work: () => unknown, samples: number): Latency {
  for (let i = 0; i < samples; i++) work()
  const times = new Float64Array(samples)
  for (let i = 0; i < samples; i++) {
    const start = performance.now()
    work()
    times[i] = performance.now() - start
  }
  return percentiles(times)
}

/**
 * Times each of `samples` calls, one at a time, after `warmup` untimed calls; percentiles in ms. The call
 * gets its index, so that each can work on its own input.
 */
export async function asyncLatencyMs(
  work: (index: number) => Promise<unknown>,
  samples: number,
  warmup: number,
): Promise<Latency> {
  for (let i = 0; i < warmup; i++) await work(i)
  const times = new Float64Array(samples)
  for (let i = 0; i < samples; i++) {
    const start = performance.now()
    await work(warmup + i)
    times[i] = performance.now() - start
  }
  return percentiles(times)
}

/** Percentiles of durations in ms (sorts `times` in place). */
export function percentiles(times: Float64Array): Latency {
  const n = times.length
  if (n === 0) return { p50: Number.NaN, p95: Number.NaN, p99: Number.NaN, p999: Number.NaN, max: Number.NaN }
  times.sort()
  const at = (q: number) => times[Math.min(n - 1, Math.floor(q * n))]!
  return { p50: at(0.5), p95: at(0.95), p99: at(0.99), p999: at(0.999), max: times[n - 1]! }
}

/** Median of a few wall-clock runs, the usual summary when there are only a handful. */
export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const middle = sorted.length >> 1
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2
}

/** Rounds to 4 significant digits: more would be noise. */
export function round(value: number): number {
  return Number(value.toPrecision(4))
}
