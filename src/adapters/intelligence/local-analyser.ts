import { detectFileType } from '../../core/stamp/index.ts'
import type { Intelligence, IntelligenceClient, IntelligenceInput } from '../../ports/intelligence.ts'

/** Languages by extension: a guess, as OnexTree's own first pass is. */
const languages: Record<string, string> = {
  py: 'python',
  ts: 'typescript',
  tsx: 'typescript',
  js: 'javascript',
  mjs: 'javascript',
  cjs: 'javascript',
  jsx: 'javascript',
  rs: 'rust',
  go: 'go',
  java: 'java',
  kt: 'kotlin',
  c: 'c',
  h: 'c',
  cpp: 'cpp',
  cc: 'cpp',
  hpp: 'cpp',
  cs: 'csharp',
  rb: 'ruby',
  php: 'php',
  sh: 'shell',
  bash: 'shell',
  sql: 'sql',
  md: 'markdown',
  html: 'html',
  css: 'css',
  yaml: 'yaml',
  yml: 'yaml',
  json: 'json',
  toml: 'toml',
  xml: 'xml',
  swift: 'swift',
}

/** A first line that names its interpreter says more than a missing extension. */
const shebangs: Array<[RegExp, string]> = [
  [/^#!.*\bpython/, 'python'],
  [/^#!.*\b(node|deno|bun)\b/, 'javascript'],
  [/^#!.*\b(ba|z|k)?sh\b/, 'shell'],
  [/^#!.*\bruby\b/, 'ruby'],
]

/**
 * The built-in intelligence: what can be known of a file without asking anyone (its type, size, line
 * count and a language guess from its extension or shebang). The default IntelligenceClient, and
 * what the OnexTree adapter falls back to.
 */
export class LocalAnalyser implements IntelligenceClient {
  readonly kind = 'local' as const

  async analyse(input: IntelligenceInput): Promise<Intelligence> {
    return { source: 'local', degraded: false, data: this.facts(input) }
  }

  /** The facts, synchronously (the fallback path uses them as they are). */
  facts(input: IntelligenceInput): Record<string, unknown> {
    const type = detectFileType({
      bytes: input.content,
      filePath: input.filePath,
      contentType: input.contentType,
    })
    let lines: number | null = null
    let language: string | null = null
    if (!type.binary) {
      lines = 0
      for (const byte of input.content) if (byte === 0x0a) lines++
      if (input.content.byteLength > 0 && input.content[input.content.byteLength - 1] !== 0x0a) lines++
      language = (type.extension && languages[type.extension]) ?? null
      if (language === null) {
        const head = Buffer.from(input.content.subarray(0, 128)).toString('utf8')
        language = shebangs.find(([re]) => re.test(head))?.[1] ?? null
      }
    }
    return {
      analyser: 'local',
      file_kind: type.kind,
      content_type: type.contentType,
      binary: type.binary,
      size_bytes: input.content.byteLength,
      line_count: lines,
      language,
    }
  }
}
