/**
 * Milliseconds to the microsecond, for durations that clients read (response metadata, /hash's
 * execution time, workflow steps, event logs, health latencies). A difference of two performance.now()
 * readings carries float noise in its last digits (0.43192099999942); a microsecond is finer than
 * anything these durations measure.
 */
export function roundMs(ms: number): number {
  return Math.round(ms * 1000) / 1000
}
