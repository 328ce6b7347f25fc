/**
 * File-type detection: what a piece of content is, whether it is text we may write a stamp into, and in
 * which comment syntax. Order of evidence: magic bytes (binary formats), then the file name, then the
 * declared content type, then a sniff of the bytes (NUL or invalid UTF-8 means binary). A type that
 * claims to be text is always confirmed by the sniff: bytes that are not clean UTF-8 are never rewritten.
 *
 * Text formats without any comment syntax (JSON, CSV) have `comment: null`: a stamp inside them would
 * break them, so they get a sidecar like binary content does (see stamp.ts).
 */

import type { CommentStyle } from './comments.ts'
import { type MagicFormat, sniffMagic } from './magic.ts'

export type FileKind = 'text' | 'image' | 'document' | 'audio' | 'video' | 'archive' | 'binary'

export interface FileType {
  kind: FileKind
  /** MIME type, without parameters. */
  contentType: string
  /** Extension of the detected type, lower case, without the dot; null when it has none. */
  extension: string | null
  /** Comment syntax a stamp is written in; null when the content cannot carry one. */
  comment: CommentStyle | null
  /** True when the content is not UTF-8 text: it is hashed as is and never modified. */
  binary: boolean
}

export interface DetectFileTypeInput {
  bytes: Uint8Array
  filePath?: string | undefined
  contentType?: string | undefined
}

interface Entry {
  kind: FileKind
  contentType: string
  comment: CommentStyle | null
  binary: boolean
  /** The first is canonical. */
  extensions: readonly string[]
  /** Further MIME types that mean this entry. */
  aliases?: readonly string[]
}

const bin = (kind: FileKind, contentType: string, extensions: string[], aliases: string[] = []): Entry => ({
  kind,
  contentType,
  comment: null,
  binary: true,
  extensions,
  aliases,
})
const txt = (
  comment: CommentStyle | null,
  contentType: string,
  extensions: string[],
  aliases: string[] = [],
  kind: FileKind = 'text',
): Entry => ({ kind, contentType, comment, binary: false, extensions, aliases })

const entries: readonly Entry[] = [
  // The seeds' types (003, ProtocolFileTypeHandler), plus the few that share their magic bytes.
  bin('image', 'image/jpeg', ['jpg', 'jpeg'], ['image/jpg', 'image/pjpeg']),
  bin('image', 'image/png', ['png']),
  bin('image', 'image/gif', ['gif']),
  bin('image', 'image/bmp', ['bmp'], ['image/x-bmp', 'image/x-ms-bmp']),
  bin('image', 'image/webp', ['webp']),
  bin('image', 'image/avif', ['avif']),
  bin('image', 'image/heic', ['heic', 'heif'], ['image/heif']),
  bin('document', 'application/pdf', ['pdf']),
  bin('document', 'application/msword', ['doc']),
  bin('document', 'application/vnd.openxmlformats-officedocument.wordprocessingml.document', ['docx']),
  txt('#', 'text/plain', ['txt', 'text', 'log'], [], 'document'),
  txt('<!-- -->', 'text/markdown', ['md', 'markdown'], ['text/x-markdown'], 'document'),
  bin('audio', 'audio/mpeg', ['mp3'], ['audio/mp3', 'audio/x-mpeg']),
  bin('audio', 'audio/wav', ['wav'], ['audio/x-wav', 'audio/wave', 'audio/vnd.wave']),
  bin('audio', 'audio/flac', ['flac'], ['audio/x-flac']),
  bin('audio', 'audio/aac', ['aac'], ['audio/x-aac', 'audio/aacp']),
  bin('audio', 'audio/ogg', ['ogg', 'oga', 'opus'], ['application/ogg']),
  bin('audio', 'audio/mp4', ['m4a', 'm4b'], ['audio/x-m4a']),
  bin('video', 'video/mp4', ['mp4', 'm4v']),
  bin('video', 'video/x-msvideo', ['avi'], ['video/avi', 'video/msvideo']),
  bin('video', 'video/x-matroska', ['mkv']),
  bin('video', 'video/quicktime', ['mov', 'qt']),
  bin('video', 'video/webm', ['webm']),
  bin('archive', 'application/zip', ['zip'], ['application/x-zip-compressed']),
  bin('archive', 'application/x-tar', ['tar']),
  bin('archive', 'application/gzip', ['gz', 'tgz'], ['application/x-gzip']),
  bin('archive', 'application/vnd.rar', ['rar'], ['application/x-rar-compressed', 'application/x-rar']),
  bin('archive', 'application/x-7z-compressed', ['7z']),
  // Source and configuration text, by comment syntax.
  txt('#', 'text/x-python', ['py', 'pyw', 'pyi'], ['text/x-script.python', 'application/x-python']),
  txt('#', 'text/x-shellscript', ['sh', 'bash', 'zsh'], ['application/x-sh', 'text/x-sh']),
  txt('#', 'text/x-ruby', ['rb'], ['application/x-ruby']),
  txt('#', 'application/yaml', ['yaml', 'yml'], ['application/x-yaml', 'text/yaml', 'text/x-yaml']),
  txt('#', 'application/toml', ['toml']),
  txt('#', 'text/x-r', ['r']),
  txt('#', 'text/x-perl', ['pl', 'pm'], ['application/x-perl']),
  txt('#', 'text/x-ini', ['ini', 'cfg', 'conf', 'properties']),
  txt('#', 'text/x-dockerfile', ['dockerfile']),
  txt('#', 'text/x-makefile', ['mk', 'mak']),
  txt('#', 'text/x-dotenv', ['env']),
  txt('//', 'text/x-typescript', ['ts', 'tsx', 'mts', 'cts'], ['application/typescript', 'text/typescript']),
  txt(
    '//',
    'text/javascript',
    ['js', 'jsx', 'mjs', 'cjs'],
    ['application/javascript', 'application/x-javascript'],
  ),
  txt('//', 'text/x-java', ['java'], ['text/x-java-source']),
  txt('//', 'text/x-c', ['c', 'h'], ['text/x-csrc', 'text/x-chdr']),
  txt('//', 'text/x-c++', ['cpp', 'hpp', 'cc', 'cxx', 'hh', 'hxx'], ['text/x-c++src', 'text/x-c++hdr']),
  txt('//', 'text/x-csharp', ['cs']),
  txt('//', 'text/x-go', ['go']),
  txt('//', 'text/x-rust', ['rs']),
  txt('//', 'text/x-swift', ['swift']),
  txt('//', 'text/x-kotlin', ['kt', 'kts']),
  txt('//', 'text/x-scala', ['scala', 'sc']),
  txt('//', 'application/x-httpd-php', ['php'], ['text/x-php', 'application/x-php']),
  txt('//', 'text/x-dart', ['dart'], ['application/dart']),
  txt('//', 'application/jsonc', ['jsonc', 'json5'], ['application/json5']),
  txt('<!-- -->', 'text/html', ['html', 'htm', 'xhtml'], ['application/xhtml+xml']),
  txt('<!-- -->', 'application/xml', ['xml', 'xsd', 'xsl', 'plist'], ['text/xml']),
  txt('<!-- -->', 'image/svg+xml', ['svg'], [], 'image'),
  txt('<!-- -->', 'text/x-vue', ['vue']),
  txt('/* */', 'text/css', ['css']),
  txt('/* */', 'text/x-scss', ['scss'], ['text/scss']),
  txt('/* */', 'text/x-less', ['less'], ['text/less']),
  txt('--', 'application/sql', ['sql'], ['text/x-sql', 'application/x-sql']),
  txt('--', 'text/x-lua', ['lua']),
  txt('--', 'text/x-haskell', ['hs']),
  // Text that has no comment syntax: stamped by sidecar.
  txt(null, 'application/json', ['json', 'map', 'jsonl', 'ndjson'], ['text/json', 'application/x-ndjson']),
  txt(null, 'text/csv', ['csv', 'tsv'], ['text/tab-separated-values']),
]

const byExtension = new Map<string, Entry>()
const byContentType = new Map<string, Entry>()
for (const entry of entries) {
  for (const ext of entry.extensions) byExtension.set(ext, entry)
  for (const mime of [entry.contentType, ...(entry.aliases ?? [])]) byContentType.set(mime, entry)
}

// Names that carry their type without an extension.
const byName: ReadonlyArray<[RegExp, string]> = [
  [/^(dockerfile|containerfile)([.-].*)?$/i, 'dockerfile'],
  [/^(gnu)?makefile$/i, 'mk'],
  [/^\.env(\..*)?$/i, 'env'],
  [/^\.(gitignore|dockerignore|gitattributes|npmignore|editorconfig)$/i, 'conf'],
]

const textFallback: Entry = txt('#', 'text/plain', [])
const binaryFallback: Entry = bin('binary', 'application/octet-stream', [])

export function detectFileType(input: DetectFileTypeInput): FileType {
  const { bytes } = input
  const name = input.filePath === undefined ? '' : baseName(input.filePath)
  const ownExtension = extensionOf(name)

  const magic: MagicFormat | null = sniffMagic(bytes)
  if (magic !== null) {
    const entry = byExtension.get(magic)!
    // A zip named .docx is a docx even when its directory is not where we look for it.
    if (magic === 'zip' && ownExtension === 'docx') return toFileType(byExtension.get('docx')!, ownExtension)
    return toFileType(entry, ownExtension)
  }

  const named = entryForName(name, ownExtension)
  if (named) return confirmText(named, bytes, ownExtension, undefined)

  const declared = entryForContentType(input.contentType)
  if (declared.entry) return confirmText(declared.entry, bytes, ownExtension, declared.contentType)

  // Nothing known: the sniff decides, and a declared but unknown content type is kept as the caller's.
  return confirmText(textFallback, bytes, ownExtension, declared.contentType)
}

function entryForName(name: string, extension: string | null): Entry | undefined {
  for (const [pattern, ext] of byName) if (pattern.test(name)) return byExtension.get(ext)
  return extension === null ? undefined : byExtension.get(extension)
}

/** The entry a declared MIME type means, and the MIME type to report when it is not the entry's own. */
function entryForContentType(contentType: string | undefined): { entry?: Entry; contentType?: string } {
  const mime = (contentType ?? '').split(';')[0]!.trim().toLowerCase()
  if (mime === '') return {}
  const known = byContentType.get(mime)
  if (known) return { entry: known }
  // Unknown types still tell us something by their structured-syntax suffix.
  if (mime.endsWith('+json')) return { entry: byExtension.get('json')!, contentType: mime }
  if (mime.endsWith('+xml')) return { entry: byExtension.get('xml')!, contentType: mime }
  return { contentType: mime }
}

/** A type that claims text holds only if the bytes are UTF-8 text; otherwise they are opaque binary. */
function confirmText(
  entry: Entry,
  bytes: Uint8Array,
  ownExtension: string | null,
  contentType: string | undefined,
): FileType {
  if (entry.binary) return toFileType(entry, ownExtension)
  const type = isUtf8Text(bytes) ? toFileType(entry, ownExtension) : toFileType(binaryFallback, ownExtension)
  if (entry === textFallback || type.binary) type.extension = ownExtension
  if (contentType !== undefined) type.contentType = contentType
  return type
}

function toFileType(entry: Entry, ownExtension: string | null): FileType {
  const extension =
    ownExtension !== null && entry.extensions.includes(ownExtension)
      ? ownExtension
      : (entry.extensions[0] ?? null)
  return {
    kind: entry.kind,
    contentType: entry.contentType,
    extension,
    comment: entry.comment,
    binary: entry.binary,
  }
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })

/** Text for our purposes: valid UTF-8 with no NUL byte. */
export function isUtf8Text(bytes: Uint8Array): boolean {
  if (bytes.includes(0)) return false
  try {
    strictUtf8.decode(bytes)
    return true
  } catch {
    return false
  }
}

/** The last segment of a path, with either separator. */
export function baseName(filePath: string): string {
  return filePath.slice(Math.max(filePath.lastIndexOf('/'), filePath.lastIndexOf('\\')) + 1)
}

function extensionOf(name: string): string | null {
  const dot = name.lastIndexOf('.')
  return dot <= 0 || dot === name.length - 1 ? null : name.slice(dot + 1).toLowerCase()
}
