import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { createStamp, type StampType, validateStamps } from '../../../../src/core/stamp/index.ts'
import { blake3, bytesOf, hashOf, TS, text, UID, UID2, utf8 } from './helpers.ts'

const BODY = 'def f(a, b):\n    return a + b\n\nprint(f(1, 2))\n'

function stamped(stampType: StampType = 'lightweight', body = BODY): string {
  return text(
    createStamp({ bytes: utf8(body), filePath: 'f.py', stampType, uid: UID, timestamp: TS, hash: blake3 })
      .stampedBytes,
  )
}

const check = (content: string, filePath = 'f.py') =>
  validateStamps({ bytes: utf8(content), filePath, hash: blake3 })

describe('validateStamps', () => {
  for (const stampType of ['lightweight', 'rich'] as const) {
    it(`accepts an untouched ${stampType} stamp and reports it`, () => {
      const result = check(stamped(stampType))
      assert.equal(result.stamped, true)
      assert.equal(result.valid, true)
      assert.equal(result.currentHash, hashOf(BODY.trim()))
      assert.deepEqual(result.stamps, [
        {
          type: stampType,
          uid: UID,
          hash: hashOf(BODY.trim()),
          timestamp: TS,
          namespace: 'omninode.services.metadata',
          line: stampType === 'lightweight' ? 1 : 6,
          valid: true,
        },
      ])
    })
  }

  it('reports unstamped content as not stamped and not valid', () => {
    const result = check(BODY)
    assert.deepEqual([result.stamped, result.valid, result.stamps], [false, false, []])
    assert.equal(result.currentHash, hashOf(BODY.trim()))
  })

  for (const stampType of ['lightweight', 'rich'] as const) {
    it(`detects any edit of the content under a ${stampType} stamp`, () => {
      const content = stamped(stampType)
      const edits = [
        content.replace('a + b', 'a - b'), // one byte
        content.replace('a + b', 'a  + b'), // whitespace inside a line
        content.replace('    return', '\treturn'), // indentation
        content.replace('a + b\n', 'a + b \n'), // trailing space on an inner line
        content.replace('\n\nprint', '\nprint'), // a blank line removed
        content.replace('print', 'prïnt'), // a non-ASCII character
      ]
      for (const edited of edits) {
        assert.notEqual(edited, content)
        const result = check(edited)
        assert.equal(result.stamped, true)
        assert.equal(result.valid, false, edited)
        assert.equal(result.stamps[0]!.valid, false)
      }
    })
  }

  it('does not count line endings, blank-line runs or surrounding whitespace as changes', () => {
    const content = stamped('rich')
    const variants = [
      content.replaceAll('\n', '\r\n'),
      content.replace('\n\nprint', '\n\n\n\n\nprint'),
      content.replace('def f', '\n \ndef f'), // leading whitespace
      content.replace('print(f(1, 2))\n', 'print(f(1, 2))  \n'), // trailing whitespace of the body
      `${content}\n\n   \n`,
    ]
    for (const variant of variants) assert.equal(check(variant).valid, true, JSON.stringify(variant))
  })

  it('detects a stamp whose hash was tampered with', () => {
    const content = stamped('lightweight')
    const hash = hashOf(BODY.trim())
    const forged = content.replace(hash, hashOf('something else'))
    const result = check(forged)
    assert.equal(result.valid, false)
    assert.equal(result.stamps[0]!.hash, hashOf('something else'))
  })

  it('rejects a rich block whose integrity block disagrees with its hash', () => {
    const content = stamped('rich')
    const hash = hashOf(BODY.trim())
    const forged = content.replace(
      `"algorithm":"BLAKE3","hash":"${hash}"`,
      `"algorithm":"BLAKE3","hash":"${'0'.repeat(64)}"`,
    )
    assert.notEqual(forged, content)
    assert.deepEqual(
      check(forged).stamps.map((s) => [s.type, s.valid]),
      [['rich', false]],
    )
  })

  it('reports every stamp found with its line, valid or not', () => {
    const lightweight = stamped('lightweight').split('\n')[0]!
    const rich = stamped('rich').slice(BODY.length)
    const staleRich = rich.replace(UID, UID2).replaceAll(hashOf(BODY.trim()), hashOf('old'))
    const content = `${lightweight}\n${BODY}${staleRich}\n${rich.slice(1)}`
    const result = check(content)
    assert.deepEqual(
      result.stamps.map((s) => [s.type, s.uid, s.line, s.valid]),
      [
        ['lightweight', UID, 1, true],
        ['rich', UID2, 7, false],
        ['rich', UID, 19, true],
      ],
    )
    assert.deepEqual([result.stamped, result.valid], [true, false])
  })

  it('validates a sidecar against binary content, and finds no embedded stamps in binary', () => {
    const bytes = bytesOf(['GIF89a', [1, 0, 1, 0, 0, 0, 0]])
    const { sidecar } = createStamp({ bytes, filePath: 'a.gif', uid: UID, timestamp: TS, hash: blake3 })
    const ok = validateStamps({ bytes, filePath: 'a.gif', hash: blake3, sidecar })
    assert.deepEqual([ok.stamped, ok.valid, ok.fileType.binary], [true, true, true])
    assert.deepEqual(ok.stamps, [
      {
        type: 'sidecar',
        uid: UID,
        hash: blake3(bytes),
        timestamp: TS,
        namespace: 'omninode.services.metadata',
        valid: true,
      },
    ])
    const tampered = bytes.slice()
    tampered[tampered.length - 1] = 1
    assert.equal(validateStamps({ bytes: tampered, filePath: 'a.gif', hash: blake3, sidecar }).valid, false)
    assert.equal(validateStamps({ bytes, filePath: 'a.gif', hash: blake3 }).stamped, false)
  })

  it('rejects a sidecar that is not a stamp document', () => {
    assert.throws(
      () => validateStamps({ bytes: utf8('x'), hash: blake3, sidecar: { uid: 'x' } }),
      (
        error: Error & {
          code?: string
          details?: unknown
        },
      ) => {
        assert.equal(error.code, 'ONEX_CORE_007_INVALID_INPUT')
        assert.deepEqual(error.details, {
          issues: [{ field: 'sidecar', message: 'is not a well-formed stamp document' }],
        })
        return true
      },
    )
  })

  it('validates a stamped empty file, and flags content added to it', () => {
    const content = stamped('lightweight', '')
    assert.equal(check(content, 'empty.py').valid, true)
    assert.equal(check(`${content}x`, 'empty.py').valid, false)
  })
})
