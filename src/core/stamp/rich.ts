/**
 * The rich stamp: a block at the end of a text file, after a blank line, between two markers. Each field
 * is one `key: <JSON value>` line (so every line is also valid YAML), in the file's comment syntax:
 *
 *   # ONEX_METADATA_START                      <!-- ONEX_METADATA_START
 *   # uid: "…"                                 uid: "…"
 *   # hash: "…"                                hash: "…"
 *   # …                                        …
 *   # integrity: {"algorithm":"BLAKE3",…}      integrity: {"algorithm":"BLAKE3",…}
 *   # ONEX_METADATA_END                        ONEX_METADATA_END -->
 *
 * Line comments (`#`, `//`, `--`) prefix every line; `<!-- -->` and `/* *\/` wrap the block in one
 * comment, and values are escaped with JSON escapes so that they cannot end it: a double hyphen is
 * written `-\u002d`, a star-slash `*\/`.
 * Parsing gives back exactly the document that was formatted.
 */

import { type CommentStyle, commentDelimiters, isLineComment } from './comments.ts'
import { readDocument, type StampDocument } from './record.ts'

export const RICH_START_MARKER = 'ONEX_METADATA_START'
export const RICH_END_MARKER = 'ONEX_METADATA_END'

export interface RichStamp {
  document: StampDocument
  comment: CommentStyle
}

const START_PATTERNS: ReadonlyArray<[CommentStyle, RegExp]> = [
  ['#', /^\s*#\s*ONEX_METADATA_START\s*$/],
  ['//', /^\s*\/\/\s*ONEX_METADATA_START\s*$/],
  ['--', /^\s*--\s*ONEX_METADATA_START\s*$/],
  ['<!-- -->', /^\s*<!--\s*ONEX_METADATA_START\s*$/],
  ['/* */', /^\s*\/\*\s*ONEX_METADATA_START\s*$/],
]
const END_PATTERNS: ReadonlyArray<[CommentStyle, RegExp]> = [
  ['#', /^\s*#\s*ONEX_METADATA_END\s*$/],
  ['//', /^\s*\/\/\s*ONEX_METADATA_END\s*$/],
  ['--', /^\s*--\s*ONEX_METADATA_END\s*$/],
  ['<!-- -->', /^\s*ONEX_METADATA_END\s*-->\s*$/],
  ['/* */', /^\s*ONEX_METADATA_END\s*\*\/\s*$/],
]
const FIELD_LINE = /^([a-z_][a-z0-9_]*):\s(.*)$/

/** The block's lines, without line endings. */
export function formatRichBlock(document: StampDocument, comment: CommentStyle): string[] {
  const { open, close } = commentDelimiters(comment)
  const fields = Object.entries(document).map(([key, value]) => `${key}: ${encodeValue(value, comment)}`)
  if (isLineComment(comment)) {
    return [
      `${open} ${RICH_START_MARKER}`,
      ...fields.map((f) => `${open} ${f}`),
      `${open} ${RICH_END_MARKER}`,
    ]
  }
  return [`${open} ${RICH_START_MARKER}`, ...fields, `${RICH_END_MARKER} ${close}`]
}

/** The comment style of a block's start marker line, or null when the line is not one. */
export function richStartStyle(line: string): CommentStyle | null {
  return START_PATTERNS.find(([, p]) => p.test(line))?.[0] ?? null
}

/** The comment style of a block's end marker line, or null when the line is not one. */
export function richEndStyle(line: string): CommentStyle | null {
  return END_PATTERNS.find(([, p]) => p.test(line))?.[0] ?? null
}

/**
 * The stamp a block holds: `lines` runs from the start marker to the end marker inclusive. Null when the
 * markers disagree, a line is not a field of this comment syntax, a key repeats, or a field is malformed.
 */
export function parseRichBlock(lines: readonly string[]): RichStamp | null {
  if (lines.length < 2) return null
  const comment = richStartStyle(lines[0]!)
  if (comment === null || richEndStyle(lines[lines.length - 1]!) !== comment) return null
  const { open } = commentDelimiters(comment)
  const fields = new Map<string, unknown>()
  for (const raw of lines.slice(1, -1)) {
    let line = raw.trim()
    if (isLineComment(comment)) {
      if (!line.startsWith(open)) return null
      line = line.slice(open.length).trimStart()
    }
    const m = FIELD_LINE.exec(line)
    if (!m || fields.has(m[1]!)) return null
    try {
      fields.set(m[1]!, JSON.parse(m[2]!))
    } catch {
      return null
    }
  }
  const document = readDocument(Object.fromEntries(fields))
  return document === null ? null : { document, comment }
}

function encodeValue(value: unknown, comment: CommentStyle): string {
  const json = JSON.stringify(value)
  // Both escapes are valid JSON: `\u002d` is '-', `\/` is '/'. Neither can occur outside a string here.
  if (comment === '<!-- -->') return json.replaceAll('--', '-\\u002d')
  if (comment === '/* */') return json.replaceAll('*/', '*\\/')
  return json
}
