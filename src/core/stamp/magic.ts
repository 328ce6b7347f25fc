/**
 * Magic-byte detection for the binary formats of the seeds' file-type list. Each check reads only a
 * header and is strict enough that ordinary text does not match (a markdown file that starts with
 * "ID3 tags" or "BM" is not audio or a bitmap). Returns the canonical extension of the format.
 */

export type MagicFormat =
  | 'jpg'
  | 'png'
  | 'gif'
  | 'bmp'
  | 'webp'
  | 'avif'
  | 'heic'
  | 'pdf'
  | 'doc'
  | 'docx'
  | 'zip'
  | 'mp3'
  | 'aac'
  | 'wav'
  | 'flac'
  | 'ogg'
  | 'm4a'
  | 'mp4'
  | 'mov'
  | 'avi'
  | 'mkv'
  | 'webm'
  | 'tar'
  | 'gz'
  | 'rar'
  | '7z'

export function sniffMagic(bytes: Uint8Array): MagicFormat | null {
  const has = (offset: number, signature: readonly number[] | string) => startsWith(bytes, offset, signature)

  if (has(0, [0xff, 0xd8, 0xff])) return 'jpg'
  if (has(0, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return 'png'
  if (has(0, 'GIF87a') || has(0, 'GIF89a')) return 'gif'
  if (isBmp(bytes)) return 'bmp'
  if (has(0, 'RIFF')) {
    if (has(8, 'WEBP')) return 'webp'
    if (has(8, 'WAVE')) return 'wav'
    if (has(8, 'AVI ')) return 'avi'
  }
  if (has(0, '%PDF-')) return 'pdf'
  if (has(0, [0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1])) return 'doc'
  if (has(0, [0x50, 0x4b, 0x03, 0x04]) || has(0, [0x50, 0x4b, 0x05, 0x06])) {
    return indexOf(bytes, 'word/document.xml') >= 0 ? 'docx' : 'zip'
  }
  if (has(0, 'fLaC') && bytes.length > 4 && (bytes[4]! & 0x7f) === 0) return 'flac'
  if (has(0, 'OggS') && bytes[4] === 0) return 'ogg'
  if (isId3(bytes)) return 'mp3'
  if (isAdts(bytes)) return 'aac'
  if (isMpegAudioFrame(bytes)) return 'mp3'
  if (has(4, 'ftyp')) return isoBrand(bytes)
  if (has(0, [0x1a, 0x45, 0xdf, 0xa3])) return ebmlDocType(bytes)
  if (isTar(bytes)) return 'tar'
  if (has(0, [0x1f, 0x8b, 0x08])) return 'gz'
  if (has(0, 'Rar!\x1a\x07')) return 'rar'
  if (has(0, [0x37, 0x7a, 0xbc, 0xaf, 0x27, 0x1c])) return '7z'
  return null
}

function startsWith(bytes: Uint8Array, offset: number, signature: readonly number[] | string): boolean {
  if (bytes.length < offset + signature.length) return false
  for (let i = 0; i < signature.length; i++) {
    const expected = typeof signature === 'string' ? signature.charCodeAt(i) : signature[i]
    if (bytes[offset + i] !== expected) return false
  }
  return true
}

function indexOf(bytes: Uint8Array, ascii: string): number {
  const first = ascii.charCodeAt(0)
  for (let i = bytes.indexOf(first); i >= 0; i = bytes.indexOf(first, i + 1)) {
    if (startsWith(bytes, i, ascii)) return i
  }
  return -1
}

// "BM", file size, 4 reserved zero bytes, pixel offset, then a DIB header of a known size.
function isBmp(bytes: Uint8Array): boolean {
  if (!startsWith(bytes, 0, 'BM') || bytes.length < 18) return false
  if (bytes[6] !== 0 || bytes[7] !== 0 || bytes[8] !== 0 || bytes[9] !== 0) return false
  const dibSize = bytes[14]! | (bytes[15]! << 8) | (bytes[16]! << 16) | (bytes[17]! << 24)
  return [12, 16, 40, 52, 56, 64, 108, 124].includes(dibSize)
}

// "ID3", major version 2..4, revision < 0xff, flags, then a 4-byte syncsafe size (each byte < 0x80).
function isId3(bytes: Uint8Array): boolean {
  if (!startsWith(bytes, 0, 'ID3') || bytes.length < 10) return false
  const version = bytes[3]!
  if (version < 2 || version > 4 || bytes[4] === 0xff) return false
  for (let i = 6; i < 10; i++) if (bytes[i]! >= 0x80) return false
  return true
}

// ADTS: 12-bit sync 0xFFF and layer bits 00.
function isAdts(bytes: Uint8Array): boolean {
  return bytes.length >= 7 && bytes[0] === 0xff && (bytes[1]! & 0xf6) === 0xf0
}

// MPEG audio frame header: 11-bit sync, version not reserved, layer not reserved, valid bitrate and rate.
function isMpegAudioFrame(bytes: Uint8Array): boolean {
  if (bytes.length < 4 || bytes[0] !== 0xff || (bytes[1]! & 0xe0) !== 0xe0) return false
  const version = (bytes[1]! >> 3) & 0b11
  const layer = (bytes[1]! >> 1) & 0b11
  const bitrate = bytes[2]! >> 4
  const rate = (bytes[2]! >> 2) & 0b11
  return version !== 0b01 && layer !== 0b00 && bitrate !== 0b1111 && rate !== 0b11
}

// ISO base media file: the major brand after "ftyp" tells QuickTime, audio-only and image files apart.
function isoBrand(bytes: Uint8Array): MagicFormat {
  const brand = String.fromCharCode(...bytes.subarray(8, 12))
  if (brand === 'qt  ') return 'mov'
  if (brand === 'M4A ' || brand === 'M4B ') return 'm4a'
  if (brand === 'avif' || brand === 'avis') return 'avif'
  if (['heic', 'heix', 'heim', 'heis', 'mif1', 'msf1'].includes(brand)) return 'heic'
  return 'mp4'
}

// Matroska and WebM share the EBML header; its DocType element (id 0x4282) names which one.
function ebmlDocType(bytes: Uint8Array): MagicFormat {
  const head = bytes.subarray(0, 64)
  for (let i = head.indexOf(0x42); i >= 0 && i + 2 < head.length; i = head.indexOf(0x42, i + 1)) {
    if (head[i + 1] !== 0x82) continue
    const sizeByte = head[i + 2]!
    if ((sizeByte & 0x80) === 0) continue // only 1-byte sizes occur for a DocType
    const size = sizeByte & 0x7f
    const docType = String.fromCharCode(...head.subarray(i + 3, i + 3 + size))
    return docType === 'webm' ? 'webm' : 'mkv'
  }
  return 'mkv'
}

// POSIX/GNU tar: "ustar" at 257 and a header checksum that adds up (octal at 148, itself counted as spaces).
function isTar(bytes: Uint8Array): boolean {
  if (bytes.length < 512 || !startsWith(bytes, 257, 'ustar')) return false
  const field = String.fromCharCode(...bytes.subarray(148, 156))
    .replace(/[\0 ]+$/, '')
    .trim()
  if (!/^[0-7]+$/.test(field)) return false
  let sum = 0
  for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 0x20 : bytes[i]!
  return sum === Number.parseInt(field, 8)
}
