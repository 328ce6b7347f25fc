/**
 * `JSON.parse(JSON.stringify(value))`, deep-frozen, in one pass: what a consumer would get had the
 * value gone through a broker, without writing and reading the text. Plain objects and arrays are
 * copied here; anything else (a Date, an object with toJSON, a class instance, a Map) goes through
 * JSON itself, so the result is the same. Throws what JSON.stringify throws (BigInt, cycles).
 */
export function frozenJsonCopy(value: unknown): unknown {
  const copy = copyOf(value, 0)
  return copy === OMIT ? undefined : copy
}

/** What JSON leaves out of an object (and writes as null in an array). */
const OMIT = Symbol('omit')
/** Deeper than this, JSON.stringify takes over: it reports cycles as JSON would. */
const MAX_DEPTH = 200

function copyOf(value: unknown, depth: number): unknown {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return value
    case 'number':
      return Number.isFinite(value) ? value + 0 : null // -0 + 0 is 0, as JSON writes it
    case 'object':
      if (value === null) return null
      break
    case 'bigint':
      return JSON.stringify(value) // throws, as JSON does
    default:
      return OMIT // undefined, function, symbol
  }
  if (depth > MAX_DEPTH) return viaJson(value)
  if (Array.isArray(value)) {
    const out = new Array(value.length)
    for (let i = 0; i < value.length; i++) {
      const inner = copyOf(value[i], depth + 1)
      out[i] = inner === OMIT ? null : inner
    }
    return Object.freeze(out)
  }
  const proto = Object.getPrototypeOf(value)
  if (
    (proto !== Object.prototype && proto !== null) ||
    typeof (value as { toJSON?: unknown }).toJSON === 'function'
  ) {
    return viaJson(value)
  }
  const source = value as Record<string, unknown>
  const out: Record<string, unknown> = {}
  for (const key of Object.keys(source)) {
    const inner = copyOf(source[key], depth + 1)
    if (inner === OMIT) continue
    // JSON.parse makes "__proto__" an own property; plain assignment would set the prototype
    if (key === '__proto__')
      Object.defineProperty(out, key, { value: inner, enumerable: true, writable: true })
    else out[key] = inner
  }
  return Object.freeze(out)
}

function viaJson(value: unknown): unknown {
  const text = JSON.stringify(value)
  return text === undefined ? OMIT : deepFreeze(JSON.parse(text))
}

export function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    for (const inner of Object.values(value)) deepFreeze(inner)
    Object.freeze(value)
  }
  return value
}
