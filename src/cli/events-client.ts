import { setTimeout as sleep } from 'node:timers/promises'
import { OnexError, UnavailableError } from '../core/errors.ts'

/**
 * `omninode events` talks to a running bridge over HTTP: its event log (GET /events) is the source of
 * truth for what was published, consumed and dead-lettered, whichever bus the bridge runs on (the
 * embedded in-process bus cannot be reached from another process; Kafka could, but then the CLI would
 * see only the bus, not what the bridge recorded about it).
 */

/** An event log entry as GET /events returns it (the fields the CLI shows). */
export interface EventEntry {
  id: number
  event_id: string
  event_type: string
  topic: string
  direction: 'published' | 'consumed' | 'dead_lettered'
  consumer_group: string | null
  correlation_id: string | null
  session_id: string | null
  status: 'ok' | 'failed'
  error: string | null
  attempt: number | null
  duration_ms: number | null
  recorded_at: string
  replayed_at: string | null
  payload: Record<string, unknown>
}

export interface EventQuery {
  topic?: string | undefined
  correlation_id?: string | undefined
  session_id?: string | undefined
  direction?: EventEntry['direction'] | undefined
  since?: string | undefined
  limit?: number | undefined
}

export interface ReplayResult {
  replayed: Array<{ id: number; event_id: string; topic: string }>
  skipped: Array<{ id: number; event_id: string; topic: string; reason: string }>
}

export class BridgeClient {
  #base: string

  constructor(url: string) {
    this.#base = url.replace(/\/+$/, '')
  }

  /** The entries and the server's clock (its Date header), oldest first. */
  async events(query: EventQuery): Promise<{ events: EventEntry[]; serverTime: number }> {
    const params = new URLSearchParams()
    for (const [key, value] of Object.entries(query)) if (value !== undefined) params.set(key, String(value))
    const res = await this.#call('GET', `/events?${params}`)
    const body = (await res.json()) as { data: { events: EventEntry[] } }
    return { events: body.data.events, serverTime: Date.parse(res.headers.get('date') ?? '') || Date.now() }
  }

  async replay(request: { topic?: string | undefined; limit: number }): Promise<ReplayResult> {
    const res = await this.#call('POST', '/events/dlq/replay', request)
    return ((await res.json()) as { data: ReplayResult }).data
  }

  async #call(method: string, path: string, body?: unknown): Promise<Response> {
    let res: Response
    try {
      res = await fetch(`${this.#base}${path}`, {
        method,
        ...(body === undefined
          ? {}
          : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
      })
    } catch (err) {
      const cause = (err as { cause?: { code?: string; message?: string } }).cause
      throw new UnavailableError(
        `cannot reach the bridge at ${this.#base}: ${cause?.code ?? cause?.message ?? (err as Error).message}`,
        { cause: err },
      )
    }
    if (res.ok) return res
    const text = await res.text()
    let detail = text
    try {
      const parsed = JSON.parse(text) as { error?: { code?: string; message?: string } }
      if (parsed.error?.message) detail = `${parsed.error.code}: ${parsed.error.message}`
    } catch {
      // not a unified response: show the text
    }
    throw new OnexError(
      'ONEX_CORE_050_SERVICE_UNAVAILABLE',
      `${method} ${path} answered ${res.status} (${detail})`,
    )
  }
}

/** One line per event: time, direction, type, topic, ids, and how it went. */
export function eventLine(e: EventEntry): string {
  const parts = [e.recorded_at, e.direction.padEnd(13), e.event_type, e.topic, `event=${e.event_id}`]
  if (e.correlation_id) parts.push(`correlation=${e.correlation_id}`)
  if (e.session_id) parts.push(`session=${e.session_id}`)
  if (e.consumer_group) parts.push(`group=${e.consumer_group}`)
  if (e.attempt !== null && e.direction !== 'published') parts.push(`attempt=${e.attempt}`)
  if (e.duration_ms !== null) parts.push(`${e.duration_ms.toFixed(1)}ms`)
  if (e.status === 'failed') parts.push(`FAILED: ${e.error ?? 'unknown'}`)
  return parts.join('  ')
}

export interface TailOptions {
  query: Omit<EventQuery, 'since' | 'limit'>
  /** Recent events printed first. */
  lines: number
  intervalMs: number
  /** Stop after this many events (0: never). */
  count: number
  json: boolean
  write: (line: string) => void
  signal?: AbortSignal
}

/** Entries may be written up to a second or two after their recorded_at (buffered): polls look back this far. */
const lookBackMs = 3000
const page = 1000

/**
 * Follows the event log: the latest `lines` entries, then every new one, each printed once. Polls
 * `GET /events?since=` from the newest entry seen minus a look-back (entries recorded by a buffer
 * arrive a little late), pages through full pages, and skips what it printed already.
 */
export async function tailEvents(client: BridgeClient, options: TailOptions): Promise<number> {
  const seen = new Map<number, number>()
  let printed = 0
  let newest = 0
  const show = (e: EventEntry): boolean => {
    if (seen.has(e.id)) return false
    const at = Date.parse(e.recorded_at)
    seen.set(e.id, at)
    newest = Math.max(newest, at)
    options.write(options.json ? JSON.stringify(e) : eventLine(e))
    printed++
    return options.count > 0 && printed >= options.count
  }

  const first = await client.events({ ...options.query, limit: Math.max(options.lines, 1) })
  for (const e of options.lines > 0 ? first.events.slice(-options.lines) : []) if (show(e)) return printed
  // What is already there (within the look-back) is not new: only what comes after is printed.
  newest = Math.max(newest, first.serverTime)
  for (let since = first.serverTime - lookBackMs - 1000; ; ) {
    const { events } = await client.events({
      ...options.query,
      since: new Date(since).toISOString(),
      limit: page,
    })
    for (const e of events) seen.set(e.id, Date.parse(e.recorded_at))
    if (events.length < page) break
    const last = Date.parse(events.at(-1)!.recorded_at)
    since = last > since ? last : since + 1
  }

  while (!options.signal?.aborted) {
    await sleep(options.intervalMs, undefined, { signal: options.signal }).catch(() => {})
    if (options.signal?.aborted) break
    let since = newest - lookBackMs
    for (;;) {
      const { events } = await client.events({
        ...options.query,
        since: new Date(since).toISOString(),
        limit: page,
      })
      for (const e of events) if (show(e)) return printed
      if (events.length < page) break
      const last = Date.parse(events.at(-1)!.recorded_at)
      since = last > since ? last : since + 1
    }
    for (const [id, at] of seen) if (at < newest - 4 * lookBackMs) seen.delete(id)
  }
  return printed
}

/** One line per dead letter: its log id (what replay takes), when, where from, and why it failed. */
export function deadLetterLine(e: EventEntry): string {
  const replayed = e.replayed_at ? `replayed ${e.replayed_at}` : 'not replayed'
  const attempts = e.attempt === null ? '' : `  attempts=${e.attempt}`
  return `${String(e.id).padStart(6)}  ${e.recorded_at}  ${e.topic}  ${e.event_type}  event=${e.event_id}${attempts}  ${replayed}  reason: ${e.error ?? 'unknown'}`
}

export interface DeadLetterOptions {
  topic?: string | undefined
  limit: number
  replay: boolean
  json: boolean
  write: (line: string) => void
}

/** Lists the latest dead letters, or replays those not replayed yet; returns the exit code (1: some could not be replayed). */
export async function deadLetters(client: BridgeClient, options: DeadLetterOptions): Promise<number> {
  const topic = options.topic?.replace(/\.dlq$/, '')
  if (!options.replay) {
    const { events } = await client.events({ direction: 'dead_lettered', topic, limit: options.limit })
    for (const e of events) options.write(options.json ? JSON.stringify(e) : deadLetterLine(e))
    if (!options.json) {
      const open = events.filter((e) => e.replayed_at === null).length
      options.write(`${events.length} dead letter${events.length === 1 ? '' : 's'}, ${open} not replayed`)
    }
    return 0
  }
  const result = await client.replay({ topic, limit: options.limit })
  if (options.json) options.write(JSON.stringify(result))
  else {
    for (const r of result.replayed) options.write(`replayed  ${r.id}  event=${r.event_id}  to ${r.topic}`)
    for (const s of result.skipped) options.write(`skipped   ${s.id}  event=${s.event_id}  (${s.reason})`)
    options.write(`${result.replayed.length} replayed, ${result.skipped.length} skipped`)
  }
  return result.skipped.length ? 1 : 0
}
