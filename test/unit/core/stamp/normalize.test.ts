import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import {
  detectFileType,
  formatLightweight,
  formatRichBlock,
  hashableBytes,
  normalizeForHash,
  type StampDocument,
  stripStamps,
} from '../../../../src/core/stamp/index.ts'
import { TS, UID, utf8 } from './helpers.ts'

const HASH = 'ef'.repeat(32)
const lw = (comment: '#' | '//' | '<!-- -->' | '/* */' | '--' = '#') =>
  formatLightweight({ uid: UID, hash: HASH, timestamp: TS, namespace: 'onex.x', comment })
const document: StampDocument = {
  uid: UID,
  hash: HASH,
  timestamp: TS,
  protocol_version: '0.1',
  file_path: null,
  file_size: 1,
  content_type: 'text/plain',
  namespace: 'onex.x',
  integrity: { algorithm: 'BLAKE3', hash: HASH },
}
const rich = (comment: '#' | '//' | '<!-- -->' | '/* */' | '--' = '#', eol = '\n') =>
  formatRichBlock(document, comment).join(eol)

describe('stripStamps', () => {
  it('removes a lightweight stamp on the first line, in any comment syntax', () => {
    for (const comment of ['#', '//', '--', '<!-- -->', '/* */'] as const) {
      assert.equal(stripStamps(`${lw(comment)}\nbody\n`), 'body\n', comment)
    }
  })

  it('removes a lightweight stamp after a shebang, an XML declaration, a BOM, @charset or Docker directives', () => {
    assert.equal(stripStamps(`#!/bin/sh\n${lw()}\necho hi\n`), '#!/bin/sh\necho hi\n')
    assert.equal(stripStamps(`<?xml version="1.0"?>\n${lw('<!-- -->')}\n<a/>`), '<?xml version="1.0"?>\n<a/>')
    assert.equal(stripStamps(`\uFEFF${lw()}\nbody`), '\uFEFFbody')
    assert.equal(stripStamps(`@charset "utf-8";\n${lw('/* */')}\na{}`), '@charset "utf-8";\na{}')
    assert.equal(
      stripStamps(`# syntax=docker/dockerfile:1\n${lw()}\nFROM x\n`),
      '# syntax=docker/dockerfile:1\nFROM x\n',
    )
    assert.equal(
      stripStamps(`#!/usr/bin/python\n# -*- coding: utf-8 -*-\n${lw()}\nx\n`),
      '#!/usr/bin/python\n# -*- coding: utf-8 -*-\nx\n',
    )
    assert.equal(stripStamps(`---\ntitle: x\n---\n${lw('<!-- -->')}\n# Hi\n`), '---\ntitle: x\n---\n# Hi\n')
  })

  it('removes a trailing rich block with the blank line before it, in any comment syntax', () => {
    for (const comment of ['#', '//', '--', '<!-- -->', '/* */'] as const) {
      assert.equal(stripStamps(`body\n\n${rich(comment)}\n`), 'body\n', comment)
    }
  })

  it('undoes exactly what stamping adds: missing final newline, CRLF, empty content', () => {
    assert.equal(stripStamps(`body\n\n${rich()}`), 'body')
    assert.equal(stripStamps(`a\r\nb\r\n\r\n${rich('#', '\r\n')}\r\n`), 'a\r\nb\r\n')
    assert.equal(stripStamps(`${rich()}\n`), '')
    assert.equal(stripStamps(`${lw()}\n`), '')
    assert.equal(stripStamps(`#!/bin/sh\n${lw()}`), '#!/bin/sh')
  })

  it('removes several stamps at their positions, and is idempotent', () => {
    const stamped = `${lw()}\n${lw('//')}\nbody\n\n${rich()}\n\n${rich('//')}\n\n`
    assert.equal(stripStamps(stamped), 'body\n')
    assert.equal(stripStamps(stripStamps(stamped)), stripStamps(stamped))
  })

  it('keeps text that only looks like a stamp, away from the stamp positions', () => {
    const bodies = [
      `first line\n${lw()}\nlast\n`,
      `x = 1\n\n${rich()}\nprint(x)\n`,
      `s = "ONEX_METADATA_START"\nt = "ONEX_METADATA_END"\n`,
      `doc = """\n${rich()}\n"""\n`,
      `x = 1  ${lw()}\n`,
      `body\n\n# ONEX_METADATA_START\n# uid: "broken\n# ONEX_METADATA_END\n`,
      `#!/bin/sh\necho\n${lw()}\n`,
    ]
    for (const body of bodies) assert.equal(stripStamps(body), body, body)
  })

  it('leaves unstamped text unchanged', () => {
    for (const body of ['', '\n', 'a', 'a\r\nb', '#!/bin/sh', '\uFEFF', '# just a comment\n']) {
      assert.equal(stripStamps(body), body, JSON.stringify(body))
    }
  })
})

describe('normalizeForHash', () => {
  it('strips stamps, normalises line endings, collapses blank runs and trims', () => {
    assert.equal(normalizeForHash(`${lw()}\r\n  a\r\n\r\n\r\n\r\nb\rc  \n\n${rich()}\n`), 'a\n\nb\nc')
  })

  it('keeps whitespace inside lines and single blank lines', () => {
    assert.equal(normalizeForHash('a  b\t\n\nc'), 'a  b\t\n\nc')
  })

  it('drops a byte-order mark with the leading whitespace', () => {
    assert.equal(normalizeForHash('\uFEFFtext'), 'text')
  })
})

describe('hashableBytes', () => {
  it('is the UTF-8 of the normalised text for text', () => {
    const bytes = utf8(`${lw()}\r\nhé\r\n`)
    assert.deepEqual(hashableBytes(bytes, detectFileType({ bytes })), utf8('hé'))
  })

  it('is the bytes as they are for binary content, even if they contain stamp-like text', () => {
    const bytes = Uint8Array.of(0, ...utf8(`\n${lw()}\n`))
    assert.equal(hashableBytes(bytes, detectFileType({ bytes })), bytes)
  })

  it('rejects a text type given bytes that are not UTF-8', () => {
    const type = detectFileType({ bytes: utf8('x'), filePath: 'a.txt' })
    assert.throws(() => hashableBytes(Uint8Array.of(0xc3), type), { code: 'ONEX_CORE_007_INVALID_INPUT' })
  })
})
