import assert from 'node:assert/strict'
import { test } from 'node:test'
import { brotliCompressSync, brotliDecompressSync, deflateSync, gunzipSync, gzipSync } from 'node:zlib'
import { createBLAKE3 } from 'hash-wasm'
import { startTestBridge } from '../../../helpers/bridge.ts'

const reference = await createBLAKE3()
const b3 = (bytes: Uint8Array | string) => reference.init().update(bytes).digest('hex')
const octets = { 'content-type': 'application/octet-stream' }
const json = { 'content-type': 'application/json' }
const content = Buffer.from('def answer():\n    return 42\n')

test('a compressed body is decompressed before it is hashed or parsed', async (t) => {
  const { app } = await startTestBridge(t)
  for (const [encoding, body] of [
    ['gzip', gzipSync(content)],
    ['deflate', deflateSync(content)],
    ['br', brotliCompressSync(content)],
    ['identity', content],
    // codings are case-insensitive, and x-gzip is gzip (RFC 9110 8.4.1.3)
    [' GZip', gzipSync(content)],
    ['x-gzip', gzipSync(content)],
  ] as const) {
    const res = await app.inject({
      method: 'POST',
      url: '/hash',
      headers: { ...octets, 'content-encoding': encoding },
      payload: body,
    })
    assert.equal(res.statusCode, 200, `${encoding}: ${res.body}`)
    const { file_hash, size_bytes } = res.json().data
    assert.deepEqual(
      { file_hash, size_bytes },
      { file_hash: b3(content), size_bytes: content.length },
      encoding,
    )
  }

  const stamp = (headers: Record<string, string>, payload: Buffer | string) =>
    app.inject({ method: 'POST', url: '/stamp', headers: { ...json, ...headers }, payload })
  const body = JSON.stringify({ content: content.toString(), file_path: 'answer.py' })
  const plain = await stamp({}, body)
  const gzipped = await stamp({ 'content-encoding': 'gzip' }, gzipSync(body))
  assert.equal(gzipped.statusCode, 200, gzipped.body)
  assert.equal(gzipped.json().data.file_hash, plain.json().data.file_hash)
  assert.equal(gzipped.json().data.created, false, 'the same content, stamped once')
})

test('a coding not accepted is a 415, a body that does not decode a 400, a bomb a 413', async (t) => {
  const { app } = await startTestBridge(t, { config: { bodyLimitBytes: 64 * 1024 } })
  const hash = (encoding: string, payload: Buffer) =>
    app.inject({
      method: 'POST',
      url: '/hash',
      headers: { ...octets, 'content-encoding': encoding },
      payload,
    })

  for (const encoding of ['compress', 'gzip, br', 'zstd-ish']) {
    const res = await hash(encoding, content)
    assert.equal(res.statusCode, 415, encoding)
    const { error } = res.json()
    assert.equal(error.code, 'ONEX_CORE_012_UNSUPPORTED_MEDIA_TYPE')
    assert.match(error.message, new RegExp(`^content-encoding ${encoding} is not accepted`))
    assert.deepEqual(error.details.issues, [
      { field: 'content-encoding', message: 'must be one of gzip, deflate, br, identity' },
    ])
  }

  // the uncompressed bytes, said to be gzip
  const notGzip = await hash('gzip', content)
  assert.equal(notGzip.statusCode, 400)
  assert.equal(notGzip.json().error.code, 'ONEX_CORE_007_INVALID_INPUT')
  assert.equal(
    notGzip.json().error.message,
    'the body does not decompress as gzip, the content-encoding it was sent with',
  )
  const truncated = gzipSync(Buffer.alloc(10_000, 'a')).subarray(0, 20)
  assert.equal((await hash('gzip', truncated)).statusCode, 400)

  // 2 MiB of zeros in about 2 KiB: the limit (64 KiB) holds for what it decompresses to
  const bomb = gzipSync(Buffer.alloc(2 * 1024 * 1024))
  assert.ok(bomb.length < 64 * 1024)
  const res = await hash('gzip', bomb)
  assert.equal(res.statusCode, 413)
  assert.equal(res.json().error.code, 'ONEX_CORE_013_PAYLOAD_TOO_LARGE')

  // still serving afterwards
  assert.equal((await hash('gzip', gzipSync(content))).statusCode, 200)
})

test('a response of 1 KiB or more is compressed for a client that asks', async (t) => {
  const { app } = await startTestBridge(t)
  const get = (url: string, headers: Record<string, string> = {}) =>
    app.inject({ method: 'GET', url, headers })
  const plain = await get('/docs/json')
  assert.equal(plain.headers['content-encoding'], undefined)
  assert.ok(plain.rawPayload.length > 1024)
  for (const [accept, encoding, decode] of [
    ['gzip', 'gzip', gunzipSync],
    ['br;q=1, gzip;q=0.5', 'br', brotliDecompressSync],
  ] as const) {
    const res = await get('/docs/json', { 'accept-encoding': accept })
    assert.equal(res.statusCode, 200)
    assert.equal(res.headers['content-encoding'], encoding)
    assert.match(String(res.headers['vary']), /accept-encoding/i)
    assert.ok(res.rawPayload.length < plain.rawPayload.length / 2)
    assert.equal(decode(res.rawPayload).toString(), plain.body)
  }
  // Prometheus asks for gzip
  const metrics = await get('/metrics', { 'accept-encoding': 'gzip' })
  assert.equal(metrics.headers['content-encoding'], 'gzip')
  assert.match(gunzipSync(metrics.rawPayload).toString(), /^# HELP /m)
  // below the threshold: as it is
  const small = await get('/health/live', { 'accept-encoding': 'gzip' })
  assert.equal(small.headers['content-encoding'], undefined)
  assert.equal(small.json().data.status, 'alive')
})

test('a path that does not decode, or a parameter longer than any, is a unified 400', async (t) => {
  const { app } = await startTestBridge(t, { config: { nodes: ['stamping', 'registry'] } })
  for (const [url, message] of [
    [
      '/stamp/%zz?namespace=onex.a',
      'the path /stamp/%zz does not decode: each % must start a percent-encoded UTF-8 byte, like %20',
    ],
    [
      `/nodes/${'n'.repeat(1025)}`,
      `a segment of the path /nodes/${'n'.repeat(193)}… is longer than any this server takes (1024 characters)`,
    ],
  ] as const) {
    const res = await app.inject({ method: 'GET', url })
    assert.equal(res.statusCode, 400, url)
    const body = res.json()
    assert.equal(body.status, 'error')
    assert.equal(body.error.code, 'ONEX_CORE_007_INVALID_INPUT')
    assert.equal(body.error.message, message)
    assert.equal(body.metadata.correlation_id, res.headers['x-correlation-id'])
  }

  // fastify's default limit (100) stopped valid parameters: a node_id may have 256 characters
  const longId = `node-${'x'.repeat(251)}`
  const res = await app.inject({ method: 'GET', url: `/nodes/${longId}` })
  assert.equal(res.statusCode, 404, res.body)
  assert.equal(res.json().error.code, 'ONEX_CORE_029_NOT_FOUND')
})
