/**
 * Lossless line handling: a text splits into lines that keep their own terminator (`\r\n`, `\n`, `\r`
 * or none for a last line without one), so that joining them gives back the exact text.
 */

export interface Line {
  text: string
  eol: '' | '\n' | '\r\n' | '\r'
}

export function splitLines(text: string): Line[] {
  const lines: Line[] = []
  const re = /\r\n|\n|\r/g
  let start = 0
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    lines.push({ text: text.slice(start, m.index), eol: m[0] as Line['eol'] })
    start = m.index + m[0].length
  }
  if (start < text.length) lines.push({ text: text.slice(start), eol: '' })
  return lines
}

export function joinLines(lines: readonly Line[]): string {
  let out = ''
  for (const line of lines) out += line.text + line.eol
  return out
}

/** The text's own line ending (its first one), `\n` when it has none. */
export function detectEol(text: string): '\n' | '\r\n' | '\r' {
  const m = /\r\n|\n|\r/.exec(text)
  return m ? (m[0] as '\n' | '\r\n' | '\r') : '\n'
}

export function isBlank(line: Line): boolean {
  return line.text.trim() === ''
}
