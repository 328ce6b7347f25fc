import diagnostics from 'node:diagnostics_channel'

/**
 * Observability from the outside (STYLE 11): the hot paths publish facts on these channels and
 * metrics, logs or traces subscribe. Publishing costs nothing when nobody listens.
 */
export const channels = {
  /** {operation: 'hash' | 'stamp' | 'validate', bytes, durationMs, backend} */
  hash: diagnostics.channel('omninode:hash'),
  /** {dialect, durationMs, ok} for every database round trip */
  dbQuery: diagnostics.channel('omninode:db:query'),
} as const

export interface HashObservation {
  operation: 'hash' | 'stamp' | 'validate'
  bytes: number
  durationMs: number
  backend: string
}

export interface DbQueryObservation {
  dialect: string
  durationMs: number
  ok: boolean
}
