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
