import pg from 'pg'

/**
 * Values read from PostgreSQL look like those read from PGlite, so a node cannot tell its backend:
 * int8 (bigint, count(*)) becomes a number (a bigint beyond 2^53, where PGlite would round), and
 * date becomes a Date at UTC midnight whatever the process's time zone. Others keep pg's parsers.
 */
const int8 = (text: string): number | bigint => {
  const n = Number(text)
  return Number.isSafeInteger(n) ? n : BigInt(text)
}
const date = (text: string): Date | string => {
  const ms = Date.parse(`${text}T00:00:00Z`)
  return Number.isNaN(ms) ? text : new Date(ms) // 'infinity' and BC dates stay text
}

const overrides = new Map<number, (text: string) => unknown>([
  [pg.types.builtins.INT8, int8],
  [pg.types.builtins.DATE, date],
])

export const typeParsers: pg.CustomTypesConfig = {
  getTypeParser: (oid, format = 'text') =>
    (format === 'text' && overrides.get(oid)) || pg.types.getTypeParser(oid, format),
}
