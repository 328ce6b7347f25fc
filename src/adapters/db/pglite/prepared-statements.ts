import { type messages, type PGlite, protocol, type Results } from '@electric-sql/pglite'
import { isStalePlan } from '../sql-errors.ts'
import { bindExecuteSync } from './bind-message.ts'
import { type ResultColumns, readCommandTag, readResults, resultColumns } from './result-reader.ts'

type BackendMessage = messages.BackendMessage
type ParameterDescriptionMessage = messages.ParameterDescriptionMessage
type RowDescriptionMessage = messages.RowDescriptionMessage

/** A statement PostgreSQL has parsed, analysed and planned once, kept under its name. */
interface Prepared {
  name: string
  /** The type of each parameter, as PostgreSQL inferred it: it picks the serializer of each value. */
  paramTypes: readonly number[]
  /** The columns the statement returns, with their parsers; undefined when it returns none. */
  columns: ResultColumns | undefined
}

/**
 * Named prepared statements for PGlite, one per SQL text, as a driver keeps them per connection.
 *
 * Why: `PGlite.query` sends every statement unnamed, in six protocol trips into the WebAssembly
 * PostgreSQL (Parse, Describe, Bind, Describe, Execute, Sync), so each call parses, analyses and plans
 * its SQL again. The bridge runs a few dozen SQL texts over and over; here each is parsed once, and a
 * call is one trip (Bind, Execute, Sync) that executes the kept plan. Measured in memory: 2 to 4 times
 * less time per statement (a 5-row unnest INSERT 270-300 µs → 105-125 µs, a primary-key SELECT
 * 180-200 µs → 45-85 µs).
 *
 * A call writes its messages (bind-message.ts) and reads the answer (result-reader.ts) itself, rather
 * than through PGlite's serializer and message parser: under the workflow bench's load, PGlite's own
 * JavaScript fell from 18% to 8% of the process's CPU samples with that (a per-character length loop
 * over every bound JSON document, and a copy of every field of every row).
 *
 * At most `capacity` statements are kept; the least recently used is closed beyond that (SQL built
 * with a varying number of placeholders would otherwise grow the server's memory without end).
 * `forgetAll` drops them all (after a migration, whose DDL may change what a kept plan returns).
 * The caller holds PGlite exclusively around each call (PGlite's `runExclusive`).
 */
export class PreparedStatements {
  readonly #pg: PGlite
  readonly #capacity: number
  /** In use order, least recent first (a Map iterates in insertion order). */
  readonly #bySql = new Map<string, Prepared>()
  #nextId = 0

  constructor(pg: PGlite, capacity = 256) {
    this.#pg = pg
    this.#capacity = capacity
  }

  /** Runs one statement; throws PGlite's DatabaseError as `query` does. */
  async query<R>(sql: string, params: readonly unknown[]): Promise<Results<R>> {
    // what PGlite's own query throws (its readiness check is not public)
    if (this.#pg.closed) throw new Error('PGlite is closed')
    try {
      return await this.#execute<R>(await this.#get(sql), params)
    } catch (err) {
      // DDL run through `query` changed the columns under a kept plan ("cached plan must not change
      // result type"): prepare the statement again. The failed call did nothing, so outside a
      // transaction it runs again at once; inside one the transaction is aborted, and the caller's
      // retry will find the new statement.
      if (!isStalePlan(err) || !this.#bySql.has(sql)) throw err
      await this.#forget(sql)
      if (this.#pg.isInTransaction()) throw err
      return this.#execute<R>(await this.#get(sql), params)
    }
  }

  async #execute<R>(prepared: Prepared, params: readonly unknown[]): Promise<Results<R>> {
    const values = params.map((value, i) => this.#serialize(value, prepared.paramTypes[i]))
    const raw = await this.#exchangeRaw(bindExecuteSync(prepared.name, values))
    return readResults<R>(raw, prepared.columns)
  }

  /**
   * Runs one statement without parameters or rows (BEGIN, COMMIT, ROLLBACK) as a simple query;
   * resolves with its command tag (a COMMIT of a failed transaction answers ROLLBACK).
   */
  async command(sql: string): Promise<string> {
    if (this.#pg.closed) throw new Error('PGlite is closed')
    return readCommandTag(await this.#exchangeRaw(protocol.serialize.query(sql)))
  }

  /** Closes every kept statement: the next call of each prepares it again. */
  async forgetAll(): Promise<void> {
    this.#bySql.clear()
    await this.#exchange(protocol.serialize.query('DEALLOCATE ALL'))
  }

  /** The kept statement of this SQL, prepared now when there is none; marked most recently used. */
  async #get(sql: string): Promise<Prepared> {
    const kept = this.#bySql.get(sql)
    if (kept) {
      this.#bySql.delete(sql)
      this.#bySql.set(sql, kept)
      return kept
    }
    const prepared = await this.#prepare(sql)
    this.#bySql.set(sql, prepared)
    // beyond the capacity, the least recently used goes (the first in the Map's order)
    for (const oldest of this.#bySql.keys()) {
      if (this.#bySql.size <= this.#capacity) break
      await this.#forget(oldest)
    }
    return prepared
  }

  async #prepare(sql: string): Promise<Prepared> {
    const name = `onx_${this.#nextId++}`
    const messages = await this.#exchange(
      protocol.serialize.parse({ name, text: sql }),
      protocol.serialize.describe({ type: 'S', name }),
      protocol.serialize.sync(),
    )
    const params = messages.find((m): m is ParameterDescriptionMessage => m.name === 'parameterDescription')
    const rows = messages.find((m): m is RowDescriptionMessage => m.name === 'rowDescription')
    return { name, paramTypes: params?.dataTypeIDs ?? [], columns: resultColumns(rows, this.#pg.parsers) }
  }

  async #forget(sql: string): Promise<void> {
    const prepared = this.#bySql.get(sql)
    if (!prepared) return
    this.#bySql.delete(sql)
    await this.#exchange(
      protocol.serialize.close({ type: 'S', name: prepared.name }),
      protocol.serialize.sync(),
    )
  }

  /** Statements kept now. */
  get size(): number {
    return this.#bySql.size
  }

  #serialize(value: unknown, type: number | undefined): string | null {
    if (value === null || value === undefined) return null
    const serializer = type === undefined ? undefined : this.#pg.serializers[type]
    return serializer ? serializer(value) : String(value)
  }

  /**
   * One trip into PostgreSQL, its answer as the raw bytes: `execProtocolRaw` would also parse every
   * message of it (PGlite keeps them for `execProtocolStream`), which readResults does once, without
   * copies; the stream hands over each chunk of the answer as it is, a view into the WebAssembly
   * memory, copied here. The writes reach the file system later.
   */
  async #exchangeRaw(frontend: Uint8Array): Promise<Uint8Array> {
    const chunks: Uint8Array[] = []
    await this.#pg.execProtocolRawStream(frontend, {
      syncToFs: false,
      onRawData: (chunk) => {
        chunks.push(chunk.slice())
      },
    })
    return concat(chunks)
  }

  /** One trip into PostgreSQL with these protocol messages; the writes reach the file system later. */
  #exchange(...frontend: Uint8Array[]): Promise<BackendMessage[]> {
    return this.#pg.execProtocolStream(concat(frontend), { syncToFs: false })
  }
}

function concat(parts: Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0] as Uint8Array
  if (parts.length === 0) return new Uint8Array(0)
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
  let at = 0
  for (const part of parts) {
    out.set(part, at)
    at += part.length
  }
  return out
}
