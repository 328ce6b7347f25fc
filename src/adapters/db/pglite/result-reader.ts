import { type messages, protocol, type Results, types } from '@electric-sql/pglite'

type Parser = (text: string, typeId: number) => unknown
type Parsers = Record<number, Parser>

/** A statement's result columns, each with the parser of its type: worked out once, when it is prepared. */
export interface ResultColumns {
  readonly fields: readonly { name: string; dataTypeID: number }[]
  readonly parsers: readonly (Parser | undefined)[]
}

/** The columns a RowDescription announces; undefined for a statement that returns none. */
export function resultColumns(
  description: messages.RowDescriptionMessage | undefined,
  parsers: Parsers,
): ResultColumns | undefined {
  if (!description) return undefined
  const fields = Object.freeze(description.fields.map((f) => ({ name: f.name, dataTypeID: f.dataTypeID })))
  return {
    fields,
    parsers: fields.map((f) => parsers[f.dataTypeID] ?? (types.parsers as Parsers)[f.dataTypeID]),
  }
}

/**
 * The result of one executed statement, read from PostgreSQL's raw answer (BindComplete, DataRows,
 * CommandComplete, ReadyForQuery), as `parse.parseResults` would make it of PGlite's parsed messages:
 * each row an object by column name, each value through the parser of its type (PGlite's, else the
 * default), `affectedRows` from the command tag.
 *
 * Why: PGlite's message parser copies its input, then every field of every row into a buffer of its
 * own before decoding it; with workflows running, those copies were about 5% of the process's CPU
 * samples. Here each value is decoded straight from the answer. An answer that carries an
 * ErrorResponse goes to PGlite's own parser instead, so that the error thrown is PGlite's
 * DatabaseError, with every field.
 */
export function readResults<R>(raw: Uint8Array, columns: ResultColumns | undefined): Results<R> {
  const buf = Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength)
  const rows: R[] = []
  let affectedRows = 0
  for (let at = 0; at + 5 <= buf.length; ) {
    const code = buf[at]!
    const end = at + 1 + buf.readInt32BE(at + 1)
    if (code === 0x44 /* D: DataRow */ && columns) {
      rows.push(readRow<R>(buf, at + 5, columns))
    } else if (code === 0x43 /* C: CommandComplete */) {
      affectedRows += affectedBy(buf.toString('utf8', at + 5, end - 1))
    } else if (code === 0x45 /* E: ErrorResponse */) {
      throw databaseErrorIn(raw)
    }
    at = end
  }
  return { rows, affectedRows, fields: (columns?.fields ?? []) as Results<R>['fields'] }
}

/** The command tag of a simple query's answer; throws its ErrorResponse as readResults does. */
export function readCommandTag(raw: Uint8Array): string {
  const buf = Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength)
  let tag = ''
  for (let at = 0; at + 5 <= buf.length; ) {
    const code = buf[at]!
    const end = at + 1 + buf.readInt32BE(at + 1)
    if (code === 0x43 /* C: CommandComplete */) tag = buf.toString('utf8', at + 5, end - 1)
    else if (code === 0x45 /* E: ErrorResponse */) throw databaseErrorIn(raw)
    at = end
  }
  return tag
}

function readRow<R>(buf: Buffer, start: number, { fields, parsers }: ResultColumns): R {
  const row: Record<string, unknown> = {}
  const count = buf.readInt16BE(start)
  let at = start + 2
  for (let i = 0; i < count; i++) {
    const length = buf.readInt32BE(at)
    at += 4
    const field = fields[i]!
    if (length === -1) {
      row[field.name] = null
      continue
    }
    const text = buf.toString('utf8', at, at + length)
    at += length
    const parse = parsers[i]
    row[field.name] = parse ? parse(text, field.dataTypeID) : text
  }
  return row as R
}

/** As parseResults counts them: the rows an INSERT, UPDATE, DELETE, COPY or MERGE touched. */
function affectedBy(tag: string): number {
  const words = tag.split(' ')
  switch (words[0]) {
    case 'INSERT':
    case 'UPDATE':
    case 'DELETE':
    case 'COPY':
    case 'MERGE':
      return Number.parseInt(words[words.length - 1]!, 10)
    default:
      return 0
  }
}

function databaseErrorIn(raw: Uint8Array): Error {
  let error: Error | undefined
  new protocol.Parser().parse(raw, (message) => {
    if (!error && message instanceof Error) error = message
  })
  return error ?? new Error('PostgreSQL answered with an error that could not be read')
}
