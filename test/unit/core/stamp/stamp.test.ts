import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import {
  type CommentStyle,
  type CreateStampInput,
  createStamp,
  DEFAULT_NAMESPACE,
  formatLightweight,
  normalizeForHash,
  stripStamps,
  validateStamps,
} from '../../../../src/core/stamp/index.ts'
import { blake3, hashOf, TS, TS2, text, UID, UID2, utf8 } from './helpers.ts'

const stamp = (body: string, options: Partial<CreateStampInput> = {}) =>
  createStamp({ bytes: utf8(body), uid: UID, timestamp: TS, hash: blake3, ...options })

const samples: Array<[CommentStyle, string, string]> = [
  ['#', 'tool.py', 'import os\n\nprint(os.name)\n'],
  ['//', 'main.ts', 'export const x = 1\n// a comment\nconsole.log(x)\n'],
  ['<!-- -->', 'page.html', '<!doctype html>\n<p>hello</p>\n'],
  ['/* */', 'site.css', 'body {\n  color: red;\n}\n'],
  ['--', 'query.sql', 'SELECT 1;\n-- done\n'],
]

describe('createStamp: embedded stamps round-trip in every comment syntax', () => {
  for (const [comment, filePath, body] of samples) {
    it(`lightweight in ${comment} (${filePath})`, () => {
      const result = stamp(body, { filePath })
      const out = text(result.stampedBytes)
      assert.equal(result.stampType, 'lightweight')
      assert.equal(result.changed, true)
      assert.equal(result.fileHash, hashOf(normalizeForHash(body)))
      assert.equal(
        out,
        `${formatLightweight({ uid: UID, hash: result.fileHash, timestamp: TS, namespace: DEFAULT_NAMESPACE, comment })}\n${body}`,
      )
      assert.equal(stripStamps(out), body)
      assert.equal(validateStamps({ bytes: result.stampedBytes!, filePath, hash: blake3 }).valid, true)
    })

    it(`rich in ${comment} (${filePath})`, () => {
      const result = stamp(body, { filePath, stampType: 'rich' })
      const out = text(result.stampedBytes)
      assert.equal(result.stampType, 'rich')
      assert.ok(out.startsWith(`${body}\n`), out)
      assert.match(out, /ONEX_METADATA_START[\s\S]*ONEX_METADATA_END/)
      assert.equal(stripStamps(out), body)
      const validation = validateStamps({ bytes: result.stampedBytes!, filePath, hash: blake3 })
      assert.deepEqual(
        validation.stamps.map((s) => [s.type, s.uid, s.valid]),
        [['rich', UID, true]],
      )
    })
  }

  it('records the stamp: hash, uid, time, namespace, protocol version, path, size and type', () => {
    const body = 'print("hé")\n'
    const result = stamp(body, { filePath: 'a/b.py', namespace: 'onex.tools', stampType: 'rich' })
    assert.deepEqual(result.stamp, {
      uid: UID,
      hash: hashOf('print("hé")'),
      timestamp: TS,
      namespace: 'onex.tools',
      protocol_version: '0.1',
      file_path: 'a/b.py',
      file_size: utf8(body).length,
      content_type: 'text/x-python',
    })
    assert.equal(result.sidecar, null)
    assert.equal(result.fileType.comment, '#')
  })
})

describe('createStamp: idempotency', () => {
  for (const stampType of ['lightweight', 'rich'] as const) {
    it(`keeps a current ${stampType} stamp as it is (changed: false)`, () => {
      const first = stamp('a = 1\n', { filePath: 'a.py', stampType })
      const again = createStamp({
        bytes: first.stampedBytes!,
        filePath: 'a.py',
        stampType,
        uid: UID2,
        timestamp: TS2,
        hash: blake3,
      })
      assert.equal(again.changed, false)
      assert.equal(again.fileHash, first.fileHash)
      assert.deepEqual(again.stampedBytes, first.stampedBytes)
      assert.equal(again.stamp.uid, UID)
      assert.equal(again.stamp.timestamp, TS)
      assert.deepEqual(again.stamp, first.stamp)
    })
  }

  it('replaces a stale stamp after an edit, leaving exactly one', () => {
    const first = text(stamp('a = 1\n', { filePath: 'a.py' }).stampedBytes)
    const edited = first.replace('a = 1', 'a = 2')
    const again = stamp(edited, { filePath: 'a.py', uid: UID2 })
    const out = text(again.stampedBytes)
    assert.equal(again.changed, true)
    assert.equal(again.fileHash, hashOf('a = 2'))
    assert.equal(out.match(/ONEX:/g)?.length, 1)
    assert.ok(out.includes(`uid=${UID2}`))
  })

  it('re-stamps when the namespace or the stamp type changes, hash unchanged', () => {
    const first = stamp('a = 1\n', { filePath: 'a.py' })
    const other = stamp(text(first.stampedBytes), { filePath: 'a.py', namespace: 'onex.other' })
    assert.equal(other.changed, true)
    assert.equal(other.fileHash, first.fileHash)
    const rich = stamp(text(first.stampedBytes), { filePath: 'a.py', stampType: 'rich' })
    assert.equal(rich.changed, true)
    assert.equal(rich.fileHash, first.fileHash)
    assert.deepEqual(
      validateStamps({ bytes: rich.stampedBytes!, filePath: 'a.py', hash: blake3 }).stamps.map((s) => s.type),
      ['rich'],
    )
  })

  it('re-stamps a rich block whose recorded path or size is stale', () => {
    const first = stamp('a = 1\n', { filePath: 'a.py', stampType: 'rich' })
    const moved = createStamp({ ...input(first.stampedBytes!), filePath: 'b.py', stampType: 'rich' })
    assert.equal(moved.changed, true)
    assert.equal(moved.stamp.file_path, 'b.py')
    const crlf = text(first.stampedBytes).replaceAll('\n', '\r\n')
    const resized = stamp(crlf, { filePath: 'a.py', stampType: 'rich' })
    assert.equal(resized.fileHash, first.fileHash)
    assert.equal(resized.changed, true)
    assert.equal(resized.stamp.file_size, 'a = 1\r\n'.length)
  })

  it('treats a stamp in another comment syntax as stale', () => {
    const first = stamp('x\n', { filePath: 'a.py' })
    const renamed = createStamp({ ...input(first.stampedBytes!), filePath: 'a.js' })
    assert.equal(renamed.changed, true)
    assert.ok(text(renamed.stampedBytes).startsWith('// ONEX:'))
  })
})

describe('createStamp: layout of the content is kept', () => {
  it('keeps a shebang on the first line', () => {
    const out = text(stamp('#!/usr/bin/env python3\nprint(1)\n', { filePath: 'run.py' }).stampedBytes)
    const lines = out.split('\n')
    assert.equal(lines[0], '#!/usr/bin/env python3')
    assert.match(lines[1]!, /^# ONEX:uid=/)
    assert.equal(lines[2], 'print(1)')
  })

  it('keeps an XML declaration on the first line', () => {
    const body = '<?xml version="1.0" encoding="UTF-8"?>\n<svg xmlns="http://www.w3.org/2000/svg"/>\n'
    const lines = text(stamp(body, { filePath: 'logo.svg' }).stampedBytes).split('\n')
    assert.equal(lines[0], '<?xml version="1.0" encoding="UTF-8"?>')
    assert.match(lines[1]!, /^<!-- ONEX:uid=.* -->$/)
  })

  it('keeps Markdown front matter and a Python encoding line where they must be', () => {
    const md = '---\ntitle: Hello\n---\n# Hello\n'
    const mdLines = text(stamp(md, { filePath: 'post.md' }).stampedBytes).split('\n')
    assert.deepEqual(mdLines.slice(0, 3), ['---', 'title: Hello', '---'])
    assert.match(mdLines[3]!, /^<!-- ONEX:/)
    const py = '#!/usr/bin/env python\n# -*- coding: utf-8 -*-\nx = 1\n'
    const pyLines = text(stamp(py, { filePath: 'a.py' }).stampedBytes).split('\n')
    assert.match(pyLines[2]!, /^# ONEX:/)
    const unclosed = '---\nnot front matter\n'
    assert.match(text(stamp(unclosed, { filePath: 'a.md' }).stampedBytes), /^<!-- ONEX:/)
  })

  it('writes stamps with CRLF into CRLF content, and hashes it like LF content', () => {
    const body = 'line one\r\nline two\r\n'
    for (const stampType of ['lightweight', 'rich'] as const) {
      const result = stamp(body, { stampType })
      const out = text(result.stampedBytes)
      assert.ok(!out.replaceAll('\r\n', '').includes('\n'), 'no bare LF')
      assert.equal(out.split('\r\n').length, stampType === 'lightweight' ? 4 : 15)
      assert.equal(result.fileHash, stamp('line one\nline two\n').fileHash)
      assert.equal(stripStamps(out), body)
    }
  })

  it('keeps a missing final newline missing', () => {
    for (const stampType of ['lightweight', 'rich'] as const) {
      const out = text(stamp('no newline', { stampType }).stampedBytes)
      assert.ok(!out.endsWith('\n'), stampType)
      assert.equal(stripStamps(out), 'no newline')
    }
    assert.equal(text(stamp('#!/bin/sh', { stampType: 'lightweight' }).stampedBytes).split('\n').length, 2)
  })

  it('stamps an empty file', () => {
    for (const stampType of ['lightweight', 'rich'] as const) {
      const result = stamp('', { stampType })
      assert.equal(result.fileHash, hashOf(''))
      assert.equal(result.stamp.file_size, 0)
      assert.equal(stripStamps(text(result.stampedBytes)), '')
      assert.equal(validateStamps({ bytes: result.stampedBytes!, hash: blake3 }).valid, true)
    }
  })

  it('keeps a byte-order mark first', () => {
    const out = text(stamp('\uFEFFhello\n').stampedBytes)
    assert.ok(out.startsWith('\uFEFF# ONEX:'))
  })

  it('handles Unicode: emoji, CJK and combining characters, sizes in bytes', () => {
    const body = 'emoji 👩‍💻 🎉\n中文 日本語 한국어\ne\u0301 (e + combining acute)\n'
    const result = stamp(body, { filePath: 'notes.md', stampType: 'rich' })
    assert.equal(result.stamp.file_size, utf8(body).length)
    assert.equal(stripStamps(text(result.stampedBytes)), body)
    assert.equal(result.fileHash, hashOf(body.trim()))
    // No Unicode normalisation: the precomposed é is different content.
    assert.notEqual(stamp(body.replace('e\u0301', '\u00e9')).fileHash, result.fileHash)
  })
})

describe('createStamp: text that only looks like a stamp is content', () => {
  const lookAlike = `# ONEX:uid=${UID2},hash=${'0'.repeat(64)},ts=${TS}`
  const body = `x = 1\n${lookAlike}\ns = "ONEX_METADATA_START ... ONEX_METADATA_END"\n`

  it('is kept in place and covered by the hash', () => {
    const result = stamp(body, { filePath: 'a.py' })
    const out = text(result.stampedBytes)
    assert.ok(out.endsWith(body))
    assert.equal(result.fileHash, hashOf(body.trim()))
    const edited = out.replace(`uid=${UID2}`, `uid=${UID}`)
    assert.equal(validateStamps({ bytes: utf8(edited), filePath: 'a.py', hash: blake3 }).valid, false)
  })

  it('is kept when a real stamp is added at the end', () => {
    const result = stamp(body, { filePath: 'a.py', stampType: 'rich' })
    assert.ok(text(result.stampedBytes).startsWith(body))
  })
})

describe('createStamp: input', () => {
  it('rejects a namespace outside omninode./onex. naming the field', () => {
    assert.throws(
      () => stamp('x', { namespace: 'acme.tools' }),
      (error: Error & { code?: string; details?: unknown }) => {
        assert.equal(error.code, 'ONEX_CORE_007_INVALID_INPUT')
        assert.deepEqual(error.details, {
          issues: [{ field: 'namespace', message: 'must match ^(omninode|onex)\\.[a-zA-Z0-9_.]+$' }],
        })
        return true
      },
    )
  })

  it('reports every bad field at once', () => {
    assert.throws(
      () =>
        stamp('x', { namespace: '', uid: 'u', timestamp: 'today', stampType: 'big' as never, filePath: '' }),
      (error: Error & { details?: { issues: Array<{ field: string }> } }) => {
        assert.deepEqual(
          error.details?.issues.map((i) => i.field),
          ['namespace', 'uid', 'timestamp', 'stamp_type', 'file_path'],
        )
        return true
      },
    )
  })

  it('fails loudly when the injected hash is not BLAKE3 hex', () => {
    assert.throws(() => stamp('x', { hash: () => 'ABC' }), { code: 'ONEX_CORE_001_INTERNAL_ERROR' })
  })
})

function input(bytes: Uint8Array): CreateStampInput {
  return { bytes, uid: UID2, timestamp: TS2, hash: blake3 }
}
