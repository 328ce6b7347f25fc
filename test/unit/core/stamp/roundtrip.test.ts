// Stamping laws checked over a grid of awkward bodies, every comment syntax and both embedded forms:
// strip(stamp(x)) === x, stamping again changes nothing, stripping is idempotent, and the stamp validates.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { createStamp, stripStamps, validateStamps } from '../../../../src/core/stamp/index.ts'
import { blake3, TS, TS2, text, UID, UID2, utf8 } from './helpers.ts'

const bodies = [
  '',
  '\n',
  '\r\n',
  '\r',
  'x',
  'x\n',
  'x\r',
  'a\r\nb',
  'a\nb\r\nc\r',
  '\n\n\nx\n\n\n',
  '   padded   ',
  '\uFEFF',
  '\uFEFFbom\n',
  '#!/bin/sh',
  '#!/bin/sh\n',
  '#!/bin/sh\r\necho\r\n',
  '<?xml version="1.0"?>',
  '<?xml version="1.0"?><root/>\n',
  '---\ntitle: t\n---\nbody',
  '# syntax=docker/dockerfile:1\nFROM scratch',
  `# ONEX:uid=${UID2},hash=${'1'.repeat(64)},ts=${TS} in a sentence\n`,
  `x\n# ONEX:uid=${UID2},hash=${'1'.repeat(64)},ts=${TS}\n`,
  'x\n\n# ONEX_METADATA_START\n# not: a block\n# ONEX_METADATA_END\n',
  'end with blank lines\n\n\n',
  '😀 中文 e\u0301\n',
]
const files = ['a.py', 'a.ts', 'a.html', 'a.css', 'a.sql']

describe('stamping laws', () => {
  for (const filePath of files) {
    for (const stampType of ['lightweight', 'rich'] as const) {
      it(`hold for ${stampType} stamps in ${filePath}`, () => {
        for (const body of bodies) {
          const label = `${filePath} ${stampType} ${JSON.stringify(body)}`
          const first = createStamp({
            bytes: utf8(body),
            filePath,
            stampType,
            uid: UID,
            timestamp: TS,
            hash: blake3,
          })
          const out = text(first.stampedBytes)
          assert.equal(stripStamps(out), body, label)
          assert.equal(stripStamps(stripStamps(out)), body, label)
          const again = createStamp({
            bytes: first.stampedBytes!,
            filePath,
            stampType,
            uid: UID2,
            timestamp: TS2,
            hash: blake3,
          })
          assert.equal(again.changed, false, label)
          assert.deepEqual(again.stampedBytes, first.stampedBytes, label)
          assert.equal(again.fileHash, first.fileHash, label)
          const validation = validateStamps({ bytes: first.stampedBytes!, filePath, hash: blake3 })
          assert.equal(validation.valid, true, label)
          assert.equal(validation.stamps.length, 1, label)
          assert.equal(validation.currentHash, first.fileHash, label)
        }
      })
    }
  }
})
