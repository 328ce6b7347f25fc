let last = 0

/**
 * When an event log entry happened: the wall clock in microseconds, strictly increasing within the
 * process (a call in the same millisecond as the previous one gets the next microsecond), so that the
 * steps of one event recorded by different writers (relay, consumers, DLQ monitor) sort in the order
 * they happened, which a millisecond clock cannot promise.
 */
export function recordTime(): string {
  const micros = Math.max(Date.now() * 1000, last + 1)
  last = micros
  const ms = Math.floor(micros / 1000)
  const iso = new Date(ms).toISOString()
  return `${iso.slice(0, 23)}${String(micros % 1000).padStart(3, '0')}Z`
}
