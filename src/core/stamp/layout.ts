/**
 * Where stamps live in a text, and only there. A text is
 *
 *   [BOM] [preamble lines] [lightweight stamp lines] body [blank line + rich block]...
 *
 * The preamble is what must stay first in its format: a shebang (`#!`), an XML or PHP opening (`<?`),
 * a CSS `@charset`, a front-matter block (`---` or `+++` to the same line, as in Markdown), a Python
 * encoding declaration (PEP 263: line 1 or 2), and Dockerfile parser directives (`# syntax=`,
 * `# escape=`, `# check=`). It is recognised the same way in every file type, which costs nothing
 * (a comment one line lower) and keeps stripping independent of the type. Lightweight
 * stamps are the consecutive stamp lines right after it; rich blocks are well-formed blocks at the very
 * end (trailing whitespace aside). Text that merely looks like a stamp anywhere else is body: it is kept
 * and hashed like any other content.
 *
 * Removing stamps undoes exactly what inserting them did, so stamp → strip gives back the original
 * bytes, including a missing final newline and the line-ending style.
 */

import { type LightweightStamp, parseLightweight } from './lightweight.ts'
import { detectEol, isBlank, joinLines, type Line, splitLines } from './lines.ts'
import { parseRichBlock, type RichStamp, richEndStyle, richStartStyle } from './rich.ts'

export interface FoundLightweight {
  stamp: LightweightStamp
  /** 1-based line number. */
  line: number
}

export interface FoundRich {
  stamp: RichStamp
  /** 1-based line number of the start marker. */
  line: number
}

export interface StampLayout {
  /** Stamps at the top, in file order. */
  lightweight: FoundLightweight[]
  /** Blocks at the end, in file order. */
  rich: FoundRich[]
  /** The text with every stamp removed. */
  stripped: string
}

const BOM = '\uFEFF'
const DOCKER_DIRECTIVE = /^#\s*(syntax|escape|check)\s*=/i
const FRONT_MATTER = /^(---|\+\+\+)\s*$/
const PEP_263 = /^[ \t\f]*#.*?coding[:=][ \t]*[-\w.]+/

export function scanStamps(text: string): StampLayout {
  const bom = text.startsWith(BOM) ? BOM : ''
  const lines = splitLines(text.slice(bom.length)).map((l) => ({ ...l }))
  const headEnd = preambleLength(lines)

  const lightweight: FoundLightweight[] = []
  let bodyStart = headEnd
  for (; bodyStart < lines.length; bodyStart++) {
    const stamp = parseLightweight(lines[bodyStart]!.text)
    if (stamp === null) break
    lightweight.push({ stamp, line: bodyStart + 1 })
  }
  const head = lines.slice(0, headEnd)
  // A stamp that ends the file without a newline follows a preamble line we gave a newline to.
  if (lightweight.length > 0 && lines[bodyStart - 1]!.eol === '' && head.length > 0)
    head[head.length - 1]!.eol = ''

  let body = lines.slice(bodyStart)
  const rich: FoundRich[] = []
  // A block that ends the file without a newline was appended to content that had none.
  let addedNewline = false
  for (;;) {
    const block = trailingBlock(body)
    if (block === null) break
    if (rich.length === 0) addedNewline = block.end === body.length - 1 && body[block.end]!.eol === ''
    rich.unshift({ stamp: block.stamp, line: bodyStart + block.start + 1 })
    const cut = block.start > 0 && isBlank(body[block.start - 1]!) ? block.start - 1 : block.start
    body = body.slice(0, cut)
  }
  const last =
    body.length > 0 ? body[body.length - 1] : lightweight.length === 0 ? head[head.length - 1] : undefined
  if (addedNewline && last !== undefined) last.eol = ''

  return { lightweight, rich, stripped: bom + joinLines(head) + joinLines(body) }
}

/** Every stamp removed, nothing else changed. */
export function stripStamps(text: string): string {
  return scanStamps(text).stripped
}

/** `line` (a formatted lightweight stamp) inserted at the stamp position of an unstamped text. */
export function insertLightweight(text: string, line: string): string {
  const bom = text.startsWith(BOM) ? BOM : ''
  const lines = splitLines(text.slice(bom.length))
  const eol = detectEol(text)
  const at = preambleLength(lines)
  const before = lines[at - 1]
  let stampEol: Line['eol'] = eol
  if (before !== undefined && before.eol === '') {
    before.eol = eol
    stampEol = ''
  }
  lines.splice(at, 0, { text: line, eol: stampEol })
  return bom + joinLines(lines)
}

/** `block` (formatted rich block lines) appended to an unstamped text after a blank line. */
export function appendRich(text: string, block: readonly string[]): string {
  const finalEol = /(\r\n|\n|\r)$/.exec(text)?.[0]
  const eol = finalEol ?? detectEol(text)
  const joined = block.join(eol)
  if (text === '') return joined + eol
  return finalEol === undefined ? text + eol + eol + joined : text + eol + joined + eol
}

function preambleLength(lines: readonly Line[]): number {
  const first = lines[0]?.text ?? ''
  let i = 0
  if (/^(#!|<\?|@charset\s)/.test(first)) i = 1
  else if (FRONT_MATTER.test(first)) {
    const close = lines.findIndex((line, j) => j > 0 && line.text.trimEnd() === first.trimEnd())
    if (close > 0) i = close + 1
  }
  if (i <= 1 && i < lines.length && PEP_263.test(lines[i]!.text)) i++
  while (i < lines.length && DOCKER_DIRECTIVE.test(lines[i]!.text)) i++
  return i
}

function trailingBlock(body: readonly Line[]): { stamp: RichStamp; start: number; end: number } | null {
  let end = body.length - 1
  while (end >= 0 && isBlank(body[end]!)) end--
  if (end < 0) return null
  const style = richEndStyle(body[end]!.text)
  if (style === null) return null
  let start = end - 1
  while (start >= 0 && richStartStyle(body[start]!.text) !== style) start--
  if (start < 0) return null
  const stamp = parseRichBlock(body.slice(start, end + 1).map((l) => l.text))
  return stamp === null ? null : { stamp, start, end }
}
