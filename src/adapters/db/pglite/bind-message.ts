/**
 * The frontend messages that execute a prepared statement, Bind + Execute + Sync, in one buffer
 * (https://www.postgresql.org/docs/current/protocol-message-formats.html): every parameter and every
 * result column in text format, the unnamed portal, no row limit.
 *
 * Why not PGlite's `protocol.serialize.bind`: it measures each value's UTF-8 length with a loop in
 * JavaScript over its characters, and the bridge binds JSON documents of whole batches (the outbox's
 * events, a group of stamps); with workflows running, that loop alone was about 3% of the process's
 * CPU. Here the length comes from Buffer.byteLength and the bytes from Buffer.write, both native.
 */
export function bindExecuteSync(statement: string, values: readonly (string | null)[]): Buffer {
  const lengths = values.map((v) => (v === null ? -1 : Buffer.byteLength(v)))
  const nameBytes = Buffer.byteLength(statement)
  const valueBytes = lengths.reduce((n, len) => n + 4 + Math.max(len, 0), 0)
  // Bind: portal "" and statement name (C strings), a format code per value (0: text), the values,
  // 0 result format codes (all text); as PGlite's serializer writes it, byte for byte
  const bindBody = 1 + (nameBytes + 1) + (2 + 2 * values.length) + (2 + valueBytes) + 2
  const execute = 1 + 4 + 1 + 4
  const sync = 1 + 4
  const out = Buffer.allocUnsafe(1 + 4 + bindBody + execute + sync)
  let at = 0
  out[at++] = 0x42 // 'B'
  at = out.writeInt32BE(4 + bindBody, at)
  out[at++] = 0 // portal ""
  at += out.write(statement, at, 'utf8')
  out[at++] = 0
  at = out.writeInt16BE(values.length, at)
  for (let i = 0; i < values.length; i++) at = out.writeInt16BE(0, at)
  at = out.writeInt16BE(values.length, at)
  for (const [i, value] of values.entries()) {
    at = out.writeInt32BE(lengths[i]!, at)
    if (value !== null) at += out.write(value, at, 'utf8')
  }
  at = out.writeInt16BE(0, at)
  out[at++] = 0x45 // 'E'
  at = out.writeInt32BE(4 + 1 + 4, at)
  out[at++] = 0 // portal ""
  at = out.writeInt32BE(0, at) // every row
  out[at++] = 0x53 // 'S'
  out.writeInt32BE(4, at)
  return out
}
