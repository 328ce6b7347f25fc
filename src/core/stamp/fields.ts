/**
 * The shared vocabulary of metadata stamps (DESIGN section 4): constants, the injected hash function
 * and the field formats every stamp form (lightweight, rich, sidecar) and O.N.E. v0.1 agree on.
 */

/** BLAKE3 of the given bytes as 64 lowercase hex digits. Injected, so that the core stays pure. */
export type HashFn = (bytes: Uint8Array) => string

/** The O.N.E. protocol version written into every rich block and sidecar. */
export const PROTOCOL_VERSION = '0.1'

/** The namespace a stamp gets when the caller names none. */
export const DEFAULT_NAMESPACE = 'omninode.services.metadata'

/** The only integrity algorithm stamps use. */
export const INTEGRITY_ALGORITHM = 'BLAKE3'

/** `^(omninode|onex)\.[a-zA-Z0-9_.]+$`: the ecosystem's namespace rule. */
export const NAMESPACE_PATTERN = /^(omninode|onex)\.[a-zA-Z0-9_.]+$/

const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i
const BLAKE3_HEX_PATTERN = /^[0-9a-f]{64}$/
// Date, 'T', hours and minutes, optional seconds and fraction, optional offset (Z or ±hh:mm / ±hhmm).
const ISO_DATE_TIME_PATTERN =
  /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|[+-]\d{2}:?\d{2})?$/

export function isNamespace(value: unknown): value is string {
  return typeof value === 'string' && NAMESPACE_PATTERN.test(value)
}

/** Any RFC 9562 textual UUID (8-4-4-4-12 hex digits, either case). */
export function isUuid(value: unknown): value is string {
  return typeof value === 'string' && UUID_PATTERN.test(value)
}

/** A BLAKE3 digest as written in stamps: exactly 64 lowercase hex digits. */
export function isBlake3Hex(value: unknown): value is string {
  return typeof value === 'string' && BLAKE3_HEX_PATTERN.test(value)
}

/** An ISO-8601 date-time that names a real calendar instant (no 2024-02-30, no 25:00). */
export function isIsoDateTime(value: unknown): value is string {
  return typeof value === 'string' && parseIsoDateTime(value) !== null
}

/**
 * Milliseconds since the epoch of an ISO-8601 date-time, or null when it is malformed or names no real
 * instant. A date-time without an offset is read as UTC (never local time: the core is deterministic).
 */
export function parseIsoDateTime(value: string): number | null {
  const m = ISO_DATE_TIME_PATTERN.exec(value)
  if (!m) return null
  const [year, month, day, hour, minute] = [m[1], m[2], m[3], m[4], m[5]].map(Number) as [
    number,
    number,
    number,
    number,
    number,
  ]
  const second = m[6] === undefined ? 0 : Number(m[6])
  const millis = m[7] === undefined ? 0 : Number(m[7].slice(0, 3).padEnd(3, '0'))
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return null
  if (hour > 23 || minute > 59 || second > 59) return null
  let offsetMinutes = 0
  const zone = m[8]
  if (zone !== undefined && zone !== 'Z') {
    const digits = zone.replace(':', '')
    const oh = Number(digits.slice(1, 3))
    const om = Number(digits.slice(3, 5))
    if (oh > 23 || om > 59) return null
    offsetMinutes = (zone.startsWith('-') ? -1 : 1) * (oh * 60 + om)
  }
  return Date.UTC(year, month - 1, day, hour, minute, second, millis) - offsetMinutes * 60_000
}

function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate()
}
