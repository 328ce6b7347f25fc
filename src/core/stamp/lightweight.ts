/**
 * The lightweight stamp: one comment line at the top of a text file.
 *
 *   <open> ONEX:uid=<uuid>,hash=<64 hex>,ts=<iso-8601>,ns=<namespace><space close?>
 *
 * e.g. `# ONEX:uid=…,hash=…,ts=2025-01-01T00:00:00.000Z,ns=omninode.services.metadata` or
 * `<!-- ONEX:uid=…,hash=…,ts=…,ns=… -->`. `ns` is optional on read (absent means the default namespace)
 * and always written. Fields are `key=value` separated by commas; unknown keys are ignored on read,
 * a malformed known field or a repeated key makes the line not a stamp.
 */

import { type CommentStyle, commentDelimiters } from './comments.ts'
import { DEFAULT_NAMESPACE, isBlake3Hex, isIsoDateTime, isNamespace, isUuid } from './fields.ts'

export interface LightweightStamp {
  uid: string
  hash: string
  timestamp: string
  namespace: string
  comment: CommentStyle
}

const LINE_PATTERNS: ReadonlyArray<[CommentStyle, RegExp]> = [
  ['<!-- -->', /^<!--\s*ONEX:(\S+?)\s*-->\s*$/],
  ['/* */', /^\/\*\s*ONEX:(\S+?)\s*\*\/\s*$/],
  ['//', /^\/\/\s*ONEX:(\S+?)\s*$/],
  ['--', /^--\s*ONEX:(\S+?)\s*$/],
  ['#', /^#\s*ONEX:(\S+?)\s*$/],
]

/** The stamp line, without a line ending. */
export function formatLightweight(stamp: LightweightStamp): string {
  const { open, close } = commentDelimiters(stamp.comment)
  const body = `ONEX:uid=${stamp.uid},hash=${stamp.hash},ts=${stamp.timestamp},ns=${stamp.namespace}`
  return close === '' ? `${open} ${body}` : `${open} ${body} ${close}`
}

/** The stamp a line holds, in any comment syntax, or null when the line is not a lightweight stamp. */
export function parseLightweight(line: string): LightweightStamp | null {
  for (const [comment, pattern] of LINE_PATTERNS) {
    const m = pattern.exec(line)
    if (m) return parseFields(m[1]!, comment)
  }
  return null
}

function parseFields(payload: string, comment: CommentStyle): LightweightStamp | null {
  const fields = new Map<string, string>()
  for (const part of payload.split(',')) {
    const eq = part.indexOf('=')
    if (eq <= 0) return null
    const key = part.slice(0, eq)
    if (fields.has(key)) return null
    fields.set(key, part.slice(eq + 1))
  }
  const uid = fields.get('uid')
  const hash = fields.get('hash')
  const timestamp = fields.get('ts')
  const namespace = fields.get('ns') ?? DEFAULT_NAMESPACE
  if (!isUuid(uid) || !isBlake3Hex(hash) || !isIsoDateTime(timestamp) || !isNamespace(namespace)) return null
  return { uid, hash, timestamp, namespace, comment }
}
