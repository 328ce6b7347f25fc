import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import {
  formatSidecar,
  parseSidecar,
  type StampRecord,
  serializeSidecar,
  sidecarPath,
} from '../../../../src/core/stamp/index.ts'
import { TS, UID, utf8 } from './helpers.ts'

const HASH = '01'.repeat(32)
const record: StampRecord = {
  uid: UID,
  hash: HASH,
  timestamp: TS,
  namespace: 'omninode.services.metadata',
  protocol_version: '0.1',
  file_path: 'media/photo.jpg',
  file_size: 1234,
  content_type: 'image/jpeg',
}

describe('sidecar', () => {
  it('lives beside the file as a hidden .onex-meta.json', () => {
    assert.equal(sidecarPath('media/photo.jpg'), 'media/.photo.jpg.onex-meta.json')
    assert.equal(sidecarPath('/abs/dir/a.tar.gz'), '/abs/dir/.a.tar.gz.onex-meta.json')
    assert.equal(sidecarPath('photo.jpg'), '.photo.jpg.onex-meta.json')
    assert.equal(sidecarPath('C:\\media\\clip.mp4'), 'C:\\media\\.clip.mp4.onex-meta.json')
  })

  it('refuses a path that names no file', () => {
    for (const path of ['', 'dir/', '..', 'a/.']) {
      assert.throws(() => sidecarPath(path), { code: 'ONEX_CORE_007_INVALID_INPUT' }, path)
    }
  })

  it('holds the same fields as a rich block, integrity included', () => {
    assert.deepEqual(formatSidecar(record), { ...record, integrity: { algorithm: 'BLAKE3', hash: HASH } })
    assert.deepEqual(Object.keys(formatSidecar(record)), [
      'uid',
      'hash',
      'timestamp',
      'protocol_version',
      'file_path',
      'file_size',
      'content_type',
      'namespace',
      'integrity',
    ])
  })

  it('reads back from an object, JSON text or bytes', () => {
    const document = formatSidecar(record)
    const json = serializeSidecar(document)
    assert.ok(json.endsWith('}\n'))
    assert.deepEqual(parseSidecar(document), document)
    assert.deepEqual(parseSidecar(json), document)
    assert.deepEqual(parseSidecar(utf8(json)), document)
    assert.deepEqual(parseSidecar({ ...document, extra: true }), document)
  })

  it('is null for anything that is not a stamp document', () => {
    const document = formatSidecar(record)
    for (const value of [
      null,
      42,
      [],
      '{',
      '[]',
      { ...document, hash: 'x' },
      { ...document, integrity: null },
    ]) {
      assert.equal(parseSidecar(value), null, JSON.stringify(value))
    }
  })
})
