/**
 * Comment syntaxes a stamp can be written in. A style is named by its own delimiters, so that it reads
 * the same in code, JSON and logs: `#`, `//` and `--` are line comments; `<!-- -->` and `/* *\/` wrap.
 */

export type CommentStyle = '#' | '//' | '--' | '<!-- -->' | '/* */'

export const commentStyles: readonly CommentStyle[] = ['#', '//', '--', '<!-- -->', '/* */']

export interface CommentDelimiters {
  /** What opens the comment, e.g. `#` or `<!--`. */
  readonly open: string
  /** What closes it; empty for line comments. */
  readonly close: string
}

const delimiters: Record<CommentStyle, CommentDelimiters> = {
  '#': { open: '#', close: '' },
  '//': { open: '//', close: '' },
  '--': { open: '--', close: '' },
  '<!-- -->': { open: '<!--', close: '-->' },
  '/* */': { open: '/*', close: '*/' },
}

export function commentDelimiters(style: CommentStyle): CommentDelimiters {
  return delimiters[style]
}

/** True for styles that end at the end of the line (no closing delimiter). */
export function isLineComment(style: CommentStyle): boolean {
  return delimiters[style].close === ''
}

export function isCommentStyle(value: unknown): value is CommentStyle {
  return typeof value === 'string' && (commentStyles as readonly string[]).includes(value)
}
