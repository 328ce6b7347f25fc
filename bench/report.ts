/**
 * One benchmark figure as one JSON line on stdout, the format `npm run bench` promises (DESIGN
 * section 8): `{"bench","metric","value","unit",...extra}`. Anything else a bench says goes to stderr.
 *
 * @example report('hash', 'oneshot_throughput', 3.1, 'GB/s', { backend: 'native', size_bytes: 1024 })
 */
export function report(
  bench: string,
  metric: string,
  value: number,
  unit: string,
  extra: Record<string, unknown> = {},
): void {
  process.stdout.write(`${JSON.stringify({ bench, metric, value, unit, ...extra })}\n`)
}

/**
 * A figure that could not be measured in this run, as a line of its own (value and unit null), so that
 * a missing figure is visible instead of silently absent.
 *
 * @example skipped('db', 'postgres', 'PostgreSQL did not start: initdb failed')
 */
export function skipped(
  bench: string,
  metric: string,
  reason: string,
  extra: Record<string, unknown> = {},
): void {
  process.stdout.write(
    `${JSON.stringify({ bench, metric, value: null, unit: null, skipped: reason, ...extra })}\n`,
  )
}
