import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { createStamp, formatLightweight, serializeSidecar } from '../../../../src/core/stamp/index.ts'
import { blake3, bytesOf, hashOf, TS, TS2, UID, UID2, utf8 } from './helpers.ts'

const png = bytesOf([
  [0x89],
  'PNG\r\n',
  [0x1a],
  '\n',
  [0, 0, 0, 13],
  'IHDR',
  [0, 0, 0, 1, 0, 0, 0, 1, 8, 6, 0, 0, 0],
])

describe('createStamp: sidecars', () => {
  it('never modifies binary content: the stamp is a sidecar over the raw bytes', () => {
    const before = png.slice()
    for (const stampType of [undefined, 'lightweight', 'rich'] as const) {
      const result = createStamp({
        bytes: png,
        filePath: 'img/dot.png',
        stampType,
        uid: UID,
        timestamp: TS,
        hash: blake3,
      })
      assert.equal(result.stampType, 'sidecar')
      assert.equal(result.stampedBytes, null)
      assert.equal(result.changed, true)
      assert.equal(result.fileHash, blake3(png))
      assert.deepEqual(result.sidecar, {
        uid: UID,
        hash: blake3(png),
        timestamp: TS,
        protocol_version: '0.1',
        file_path: 'img/dot.png',
        file_size: png.length,
        content_type: 'image/png',
        namespace: 'omninode.services.metadata',
        integrity: { algorithm: 'BLAKE3', hash: blake3(png) },
      })
    }
    assert.deepEqual(png, before)
  })

  it('hashes binary content as is, even when it contains stamp-like text', () => {
    const line = formatLightweight({
      uid: UID,
      hash: '0'.repeat(64),
      timestamp: TS,
      namespace: 'onex.a',
      comment: '#',
    })
    const bytes = Uint8Array.of(...utf8(`${line}\n`), 0, 1, 2)
    const result = createStamp({ bytes, uid: UID, timestamp: TS, hash: blake3 })
    assert.equal(result.stampType, 'sidecar')
    assert.equal(result.fileHash, blake3(bytes))
  })

  it('gives JSON a sidecar: a comment would break it', () => {
    const body = '{\n  "name": "x"\n}\n'
    const result = createStamp({
      bytes: utf8(body),
      filePath: 'package.json',
      uid: UID,
      timestamp: TS,
      hash: blake3,
    })
    assert.equal(result.stampType, 'sidecar')
    assert.equal(result.stampedBytes, null)
    assert.equal(result.fileHash, hashOf(body.trim()))
    assert.equal(result.sidecar?.content_type, 'application/json')
  })

  it('gives text a sidecar when asked, leaving it untouched', () => {
    const result = createStamp({
      bytes: utf8('a = 1\n'),
      stampType: 'sidecar',
      uid: UID,
      timestamp: TS,
      hash: blake3,
    })
    assert.equal(result.stampType, 'sidecar')
    assert.equal(result.stampedBytes, null)
    assert.equal(result.sidecar?.hash, hashOf('a = 1'))
  })

  it('keeps a current sidecar as it is, in any form', () => {
    const first = createStamp({ bytes: png, filePath: 'dot.png', uid: UID, timestamp: TS, hash: blake3 })
    for (const sidecar of [
      first.sidecar,
      serializeSidecar(first.sidecar!),
      utf8(serializeSidecar(first.sidecar!)),
    ]) {
      const again = createStamp({
        bytes: png,
        filePath: 'dot.png',
        uid: UID2,
        timestamp: TS2,
        hash: blake3,
        sidecar,
      })
      assert.equal(again.changed, false)
      assert.deepEqual(again.sidecar, first.sidecar)
      assert.equal(again.stamp.uid, UID)
    }
  })

  it('replaces a stale or malformed sidecar', () => {
    const first = createStamp({ bytes: png, filePath: 'dot.png', uid: UID, timestamp: TS, hash: blake3 })
    const changedBytes = Uint8Array.of(...png, 0)
    const stale = createStamp({
      bytes: changedBytes,
      uid: UID2,
      timestamp: TS2,
      hash: blake3,
      sidecar: first.sidecar,
    })
    assert.equal(stale.changed, true)
    assert.equal(stale.sidecar?.uid, UID2)
    assert.equal(stale.sidecar?.hash, blake3(changedBytes))
    const other = createStamp({
      bytes: png,
      uid: UID2,
      timestamp: TS2,
      namespace: 'onex.b',
      hash: blake3,
      sidecar: first.sidecar,
    })
    assert.equal(other.changed, true)
    const malformed = createStamp({ bytes: png, uid: UID2, timestamp: TS2, hash: blake3, sidecar: '{"uid":' })
    assert.equal(malformed.changed, true)
    assert.equal(malformed.sidecar?.uid, UID2)
  })
})
