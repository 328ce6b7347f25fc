import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { detectFileType } from '../../../../src/core/stamp/index.ts'
import { bytesOf, utf8 } from './helpers.ts'

/** A 512-byte tar header for one file, with a correct checksum. */
function tarHeader(): Uint8Array {
  const header = bytesOf(['hello.txt'], 512)
  header.set(utf8('0000644\0'), 100)
  header.set(utf8('ustar\u000000'), 257)
  header.fill(0x20, 148, 156)
  const sum = header.reduce((a, b) => a + b, 0)
  header.set(utf8(`${sum.toString(8).padStart(6, '0')}\0 `), 148)
  return header
}

const bmp = bytesOf(['BM', [0x3a, 0, 0, 0], [0, 0, 0, 0], [0x36, 0, 0, 0], [40, 0, 0, 0]], 58)

// Each binary format by its magic bytes alone (no file name, no content type).
const magic: Array<[string, Uint8Array, { kind: string; contentType: string; extension: string }]> = [
  [
    'jpeg',
    bytesOf([[0xff, 0xd8, 0xff, 0xe0], '\0\x10JFIF']),
    { kind: 'image', contentType: 'image/jpeg', extension: 'jpg' },
  ],
  [
    'png',
    bytesOf([[0x89], 'PNG\r\n', [0x1a], '\n', [0, 0, 0, 13], 'IHDR']),
    { kind: 'image', contentType: 'image/png', extension: 'png' },
  ],
  [
    'gif87a',
    bytesOf(['GIF87a', [1, 0, 1, 0]]),
    { kind: 'image', contentType: 'image/gif', extension: 'gif' },
  ],
  [
    'gif89a',
    bytesOf(['GIF89a', [1, 0, 1, 0]]),
    { kind: 'image', contentType: 'image/gif', extension: 'gif' },
  ],
  ['bmp', bmp, { kind: 'image', contentType: 'image/bmp', extension: 'bmp' }],
  [
    'webp',
    bytesOf(['RIFF', [36, 0, 0, 0], 'WEBPVP8 ']),
    { kind: 'image', contentType: 'image/webp', extension: 'webp' },
  ],
  [
    'pdf',
    bytesOf(['%PDF-1.7\n%', [0xe2, 0xe3, 0xcf, 0xd3]]),
    { kind: 'document', contentType: 'application/pdf', extension: 'pdf' },
  ],
  [
    'doc (OLE)',
    bytesOf([[0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1]], 64),
    { kind: 'document', contentType: 'application/msword', extension: 'doc' },
  ],
  [
    'docx',
    bytesOf([
      [0x50, 0x4b, 0x03, 0x04, 20, 0, 0, 0, 8, 0],
      [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
      [17, 0, 0, 0],
      'word/document.xml',
    ]),
    {
      kind: 'document',
      contentType: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
      extension: 'docx',
    },
  ],
  [
    'zip',
    bytesOf([[0x50, 0x4b, 0x03, 0x04, 20, 0], 'a.txt']),
    { kind: 'archive', contentType: 'application/zip', extension: 'zip' },
  ],
  [
    'empty zip',
    bytesOf([[0x50, 0x4b, 0x05, 0x06]], 22),
    { kind: 'archive', contentType: 'application/zip', extension: 'zip' },
  ],
  [
    'mp3 (ID3)',
    bytesOf(['ID3', [4, 0, 0, 0, 0, 0x02, 0x01]]),
    { kind: 'audio', contentType: 'audio/mpeg', extension: 'mp3' },
  ],
  [
    'mp3 (frame sync)',
    bytesOf([[0xff, 0xfb, 0x90, 0x64]]),
    { kind: 'audio', contentType: 'audio/mpeg', extension: 'mp3' },
  ],
  [
    'wav',
    bytesOf(['RIFF', [36, 0, 0, 0], 'WAVEfmt ']),
    { kind: 'audio', contentType: 'audio/wav', extension: 'wav' },
  ],
  [
    'flac',
    bytesOf(['fLaC', [0x80, 0, 0, 34]]),
    { kind: 'audio', contentType: 'audio/flac', extension: 'flac' },
  ],
  [
    'aac (ADTS)',
    bytesOf([[0xff, 0xf1, 0x50, 0x80, 0x02, 0x1f, 0xfc]]),
    { kind: 'audio', contentType: 'audio/aac', extension: 'aac' },
  ],
  ['ogg', bytesOf(['OggS', [0, 2], 'vorbis']), { kind: 'audio', contentType: 'audio/ogg', extension: 'ogg' }],
  [
    'mp4',
    bytesOf([[0, 0, 0, 0x20], 'ftypisom', [0, 0, 2, 0], 'isomiso2']),
    { kind: 'video', contentType: 'video/mp4', extension: 'mp4' },
  ],
  [
    'mov',
    bytesOf([[0, 0, 0, 0x14], 'ftypqt  ', [0, 0, 2, 0], 'qt  ']),
    { kind: 'video', contentType: 'video/quicktime', extension: 'mov' },
  ],
  [
    'avi',
    bytesOf(['RIFF', [36, 0, 0, 0], 'AVI LIST']),
    { kind: 'video', contentType: 'video/x-msvideo', extension: 'avi' },
  ],
  [
    'mkv',
    bytesOf([[0x1a, 0x45, 0xdf, 0xa3, 0x9f, 0x42, 0x86, 0x81, 0x01, 0x42, 0x82, 0x88], 'matroska']),
    { kind: 'video', contentType: 'video/x-matroska', extension: 'mkv' },
  ],
  [
    'webm',
    bytesOf([[0x1a, 0x45, 0xdf, 0xa3, 0x9f, 0x42, 0x86, 0x81, 0x01, 0x42, 0x82, 0x84], 'webm']),
    { kind: 'video', contentType: 'video/webm', extension: 'webm' },
  ],
  ['tar', tarHeader(), { kind: 'archive', contentType: 'application/x-tar', extension: 'tar' }],
  [
    'gz',
    bytesOf([[0x1f, 0x8b, 0x08, 0, 0, 0, 0, 0, 0, 3]]),
    { kind: 'archive', contentType: 'application/gzip', extension: 'gz' },
  ],
  [
    'rar 4',
    bytesOf(['Rar!', [0x1a, 0x07, 0x00]]),
    { kind: 'archive', contentType: 'application/vnd.rar', extension: 'rar' },
  ],
  [
    'rar 5',
    bytesOf(['Rar!', [0x1a, 0x07, 0x01, 0x00]]),
    { kind: 'archive', contentType: 'application/vnd.rar', extension: 'rar' },
  ],
  [
    '7z',
    bytesOf([[0x37, 0x7a, 0xbc, 0xaf, 0x27, 0x1c, 0, 4]]),
    { kind: 'archive', contentType: 'application/x-7z-compressed', extension: '7z' },
  ],
]

describe('detectFileType: magic bytes', () => {
  for (const [name, bytes, expected] of magic) {
    it(`detects ${name}`, () => {
      assert.deepEqual(detectFileType({ bytes }), { ...expected, comment: null, binary: true })
    })
  }

  it('lets magic bytes win over a misleading name and content type', () => {
    const png = magic.find(([n]) => n === 'png')![1]
    const type = detectFileType({ bytes: png, filePath: 'notes.txt', contentType: 'text/plain' })
    assert.equal(type.contentType, 'image/png')
    assert.equal(type.extension, 'png')
    assert.equal(type.binary, true)
  })

  it('keeps the file’s own spelling of an extension of the same type', () => {
    const jpeg = magic.find(([n]) => n === 'jpeg')![1]
    assert.equal(detectFileType({ bytes: jpeg, filePath: 'a/photo.JPEG' }).extension, 'jpeg')
  })

  it('calls a zip named .docx a docx', () => {
    const zip = magic.find(([n]) => n === 'zip')![1]
    assert.equal(detectFileType({ bytes: zip, filePath: 'report.docx' }).extension, 'docx')
  })

  it('does not mistake text for a bitmap, MP3 or tar', () => {
    for (const sample of [
      'BM is a bitmap prefix',
      'ID3 tags explained\n',
      `${' '.repeat(257)}ustar but not a tar`,
    ]) {
      const type = detectFileType({ bytes: utf8(sample) })
      assert.equal(type.binary, false, sample)
      assert.equal(type.kind, 'text', sample)
    }
  })
})

describe('detectFileType: names, content types and sniffing', () => {
  const byComment: Array<[string, string]> = [
    ['#', 'a.py a.sh a.bash a.rb a.yaml a.yml a.toml a.r a.pl a.conf a.ini a.txt Dockerfile Makefile .env'],
    [
      '//',
      'a.ts a.tsx a.js a.jsx a.mjs a.cjs a.java a.c a.h a.cpp a.hpp a.cc a.cs a.go a.rs a.swift a.kt a.scala a.php a.dart',
    ],
    ['<!-- -->', 'a.html a.htm a.xml a.svg a.md a.vue'],
    ['/* */', 'a.css a.scss a.less'],
    ['--', 'a.sql a.lua a.hs'],
  ]
  for (const [comment, names] of byComment) {
    it(`writes stamps in ${comment} for ${names}`, () => {
      for (const filePath of names.split(' ')) {
        const type = detectFileType({ bytes: utf8('x = 1\n'), filePath })
        assert.equal(type.comment, comment, filePath)
        assert.equal(type.binary, false, filePath)
      }
    })
  }

  it('classifies the seeds’ text document types as documents', () => {
    assert.deepEqual(detectFileType({ bytes: utf8('# Title\n'), filePath: 'README.md' }), {
      kind: 'document',
      contentType: 'text/markdown',
      extension: 'md',
      comment: '<!-- -->',
      binary: false,
    })
    assert.equal(detectFileType({ bytes: utf8('hi'), filePath: 'notes.txt' }).kind, 'document')
  })

  it('treats SVG as an image written in XML comments', () => {
    const type = detectFileType({ bytes: utf8('<svg/>'), filePath: 'logo.svg' })
    assert.deepEqual(
      [type.kind, type.contentType, type.comment, type.binary],
      ['image', 'image/svg+xml', '<!-- -->', false],
    )
  })

  it('gives JSON and CSV no comment syntax, so they are never written into', () => {
    for (const filePath of ['package.json', 'data.csv']) {
      const type = detectFileType({ bytes: utf8('{}'), filePath })
      assert.equal(type.comment, null, filePath)
      assert.equal(type.binary, false, filePath)
    }
    assert.equal(detectFileType({ bytes: utf8('{}'), contentType: 'application/vnd.api+json' }).comment, null)
  })

  it('trusts a binary extension when the magic bytes say nothing', () => {
    const type = detectFileType({ bytes: utf8('not really a png'), filePath: 'x.png' })
    assert.deepEqual([type.kind, type.contentType, type.binary], ['image', 'image/png', true])
  })

  it('uses the declared content type after the name, ignoring parameters and case', () => {
    const type = detectFileType({ bytes: utf8('print(1)'), contentType: 'Text/X-Python; charset=utf-8' })
    assert.deepEqual([type.contentType, type.comment, type.extension], ['text/x-python', '#', 'py'])
    const named = detectFileType({ bytes: utf8('x'), filePath: 'a.js', contentType: 'text/x-python' })
    assert.equal(named.contentType, 'text/javascript')
  })

  it('keeps an unknown declared content type and sniffs the bytes', () => {
    assert.deepEqual(detectFileType({ bytes: utf8('hello'), contentType: 'application/x-custom' }), {
      kind: 'text',
      contentType: 'application/x-custom',
      extension: null,
      comment: '#',
      binary: false,
    })
  })

  it('sniffs unknown content: UTF-8 text gets #, NUL or invalid UTF-8 is binary', () => {
    assert.deepEqual(detectFileType({ bytes: utf8('just text ✓') }), {
      kind: 'text',
      contentType: 'text/plain',
      extension: null,
      comment: '#',
      binary: false,
    })
    assert.equal(detectFileType({ bytes: new Uint8Array() }).binary, false)
    for (const bytes of [
      Uint8Array.of(0x61, 0x00, 0x62),
      Uint8Array.of(0x61, 0xc3),
      Uint8Array.of(0xff, 0xfe, 0x61),
    ]) {
      assert.deepEqual(detectFileType({ bytes, filePath: 'blob.xyz' }), {
        kind: 'binary',
        contentType: 'application/octet-stream',
        extension: 'xyz',
        comment: null,
        binary: true,
      })
    }
  })

  it('never treats bytes that are not UTF-8 as text, whatever the name says', () => {
    const latin1 = Uint8Array.of(0x63, 0x61, 0x66, 0xe9, 0x0a) // "café\n" in Latin-1
    const type = detectFileType({ bytes: latin1, filePath: 'menu.txt' })
    assert.deepEqual([type.kind, type.binary, type.comment], ['binary', true, null])
  })

  it('reads Windows paths and names without an extension', () => {
    assert.equal(detectFileType({ bytes: utf8('x'), filePath: 'C:\\src\\main.go' }).comment, '//')
    assert.equal(
      detectFileType({ bytes: utf8('FROM node'), filePath: 'deploy/Dockerfile.prod' }).contentType,
      'text/x-dockerfile',
    )
    assert.equal(detectFileType({ bytes: utf8('A=1'), filePath: '.env.local' }).comment, '#')
  })
})
