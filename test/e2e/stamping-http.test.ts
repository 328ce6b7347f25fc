import assert from 'node:assert/strict'
import { type TestContext, test } from 'node:test'
import { createBLAKE3 } from 'hash-wasm'
import { startTestBridge } from '../helpers/bridge.ts'
import { type Dialect, dialects, skipReason } from '../helpers/database-backends.ts'

const reference = await createBLAKE3()
const b3 = (bytes: Uint8Array | string) => reference.init().update(bytes).digest('hex')
const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/
const pngHeader = Buffer.from([
  0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52, 1, 2, 3,
])

// biome-ignore lint/suspicious/noExplicitAny: responses are checked field by field below
type Json = Record<string, any>

/**
 * Every stamping endpoint, once per backend: PGlite always, PostgreSQL when OMNINODE_TEST_DATABASE_URL
 * is set (npm run test:all), each bridge on a database of its own.
 */
for (const backend of dialects) {
  const skip = skipReason(backend)
  test(`stamping over HTTP (${backend})`, { skip }, (t) => stampingOverHttp(t, backend))
  test(`database gone: 503, Retry-After, no driver message (${backend})`, { skip }, (t) =>
    databaseGone(t, backend),
  )
  test(`over a real socket (${backend})`, { skip }, (t) => overRealSocket(t, backend))
}

async function stampingOverHttp(t: TestContext, backend: Dialect) {
  const { app } = await startTestBridge(t, {
    backend,
    config: { bodyLimitBytes: 64 * 1024, batchMaxItems: 5 },
  })
  const post = async (url: string, payload: unknown) => {
    const res = await app.inject({ method: 'POST', url, payload: payload as Json })
    return { status: res.statusCode, body: res.json() as Json, headers: res.headers }
  }
  const get = async (url: string) => {
    const res = await app.inject({ method: 'GET', url })
    return { status: res.statusCode, body: res.json() as Json, headers: res.headers }
  }
  const expectError = (res: { status: number; body: Json }, status: number, code: string, field?: string) => {
    assert.equal(res.status, status, JSON.stringify(res.body))
    assert.equal(res.body.status, 'error')
    assert.equal(res.body.error.code, code)
    assert.match(res.body.metadata.correlation_id, uuid)
    assert.equal(JSON.stringify(res.body).includes('    at '), false, 'no stack trace')
    if (field) {
      const fields = (res.body.error.details?.issues ?? []).map((i: Json) => i.field)
      assert.ok(fields.includes(field), `issues name ${field}: ${JSON.stringify(res.body.error)}`)
    }
  }

  await t.test(
    'POST /hash: raw bytes, text, JSON text and base64 all give the BLAKE3 of the bytes',
    async () => {
      const bytes = Buffer.from('hello, bridge\n')
      for (const [contentType, payload] of [
        ['application/octet-stream', bytes],
        ['text/plain', bytes],
        ['application/json', JSON.stringify({ content: 'hello, bridge\n' })],
        ['application/json', JSON.stringify({ content_base64: bytes.toString('base64') })],
      ] as const) {
        const res = await app.inject({
          method: 'POST',
          url: '/hash',
          headers: { 'content-type': contentType },
          payload,
        })
        assert.equal(res.statusCode, 200, res.body)
        const body = res.json()
        assert.equal(body.status, 'success')
        assert.equal(body.data.file_hash, b3(bytes))
        assert.equal(body.data.size_bytes, bytes.length)
        assert.equal(typeof body.metadata.duration_ms, 'number')
        // to the microsecond, without the float noise of a performance.now() difference
        for (const ms of [body.metadata.duration_ms, body.data.execution_time_ms]) {
          assert.equal(typeof ms, 'number')
          assert.equal(ms, Math.round(ms * 1000) / 1000)
        }
      }
    },
  )

  await t.test('POST /hash: bad input is a 4xx that names the problem', async () => {
    expectError(
      await post('/hash', { content: 'a', content_base64: 'YQ==' }),
      400,
      'ONEX_CORE_007_INVALID_INPUT',
      'content',
    )
    expectError(await post('/hash', {}), 400, 'ONEX_CORE_007_INVALID_INPUT', 'content')
    expectError(
      await post('/hash', { content_base64: '***' }),
      400,
      'ONEX_CORE_007_INVALID_INPUT',
      'content_base64',
    )
    const extra = await post('/hash', { content: 'a', extra: 1 })
    expectError(extra, 400, 'ONEX_CORE_007_INVALID_INPUT', 'extra')
    // as for a body fastify's route schema refuses (POST /validate)
    assert.equal(extra.body.error.details.location, 'body')
    assert.equal((await post('/validate', { contentx: 1 })).body.error.details.location, 'body')
    const empty = await app.inject({ method: 'POST', url: '/hash' })
    expectError({ status: empty.statusCode, body: empty.json() }, 400, 'ONEX_CORE_007_INVALID_INPUT')
    const badJson = await app.inject({
      method: 'POST',
      url: '/hash',
      headers: { 'content-type': 'application/json' },
      payload: '{"content":',
    })
    expectError({ status: badJson.statusCode, body: badJson.json() }, 400, 'ONEX_CORE_007_INVALID_INPUT')
    const huge = await app.inject({
      method: 'POST',
      url: '/hash',
      headers: { 'content-type': 'application/octet-stream' },
      payload: Buffer.alloc(65 * 1024),
    })
    expectError({ status: huge.statusCode, body: huge.json() }, 413, 'ONEX_CORE_013_PAYLOAD_TOO_LARGE')
  })

  await t.test(
    'the routes that take JSON answer a body of another type, or of none, with a 415 naming it',
    async () => {
      const json = JSON.stringify({ content: 'x = 1\n', file_path: 'a.py' })
      for (const url of ['/stamp', '/validate', '/batch', '/validate-protocol']) {
        for (const [contentType, named] of [
          ['text/plain', 'content-type text/plain is not accepted'],
          // what curl -d sends when no -H names a type
          ['application/x-www-form-urlencoded', 'content-type application/x-www-form-urlencoded'],
          ['application/octet-stream', 'content-type application/octet-stream'],
          [undefined, 'the body has no content-type'],
        ] as const) {
          const res = await app.inject({
            method: 'POST',
            url,
            headers: contentType ? { 'content-type': contentType } : {},
            payload: json,
          })
          const body = res.json()
          expectError(
            { status: res.statusCode, body },
            415,
            'ONEX_CORE_012_UNSUPPORTED_MEDIA_TYPE',
            'content-type',
          )
          assert.ok(body.error.message.includes(named), `${url} ${contentType}: ${body.error.message}`)
          assert.ok(body.error.message.includes('application/json'), body.error.message)
        }
      }
      // the same body as JSON is taken, with or without a charset
      const stamped = await app.inject({
        method: 'POST',
        url: '/stamp',
        headers: { 'content-type': 'application/json; charset=utf-8' },
        payload: json,
      })
      assert.equal(stamped.statusCode, 200, stamped.body)
    },
  )

  let stampedPython = ''
  let pythonHash = ''
  await t.test('POST /stamp: stamps text, stores the record, and is idempotent', async () => {
    const content = 'def main():\n    return 42\n'
    const first = await post('/stamp', { content, file_path: 'tools/answer.py' })
    assert.equal(first.status, 200, JSON.stringify(first.body))
    const data = first.body.data
    assert.match(data.stamped_content, /^# ONEX:uid=[0-9a-f-]{36},hash=[0-9a-f]{64},ts=/)
    assert.ok(data.stamped_content.includes('def main():'))
    assert.equal(data.namespace, 'omninode.services.metadata')
    assert.equal(data.stamp_type, 'lightweight')
    assert.equal(data.created, true)
    assert.equal(data.record.file_hash, data.file_hash)
    assert.equal(data.record.file_path, 'tools/answer.py')
    stampedPython = data.stamped_content
    pythonHash = data.file_hash

    const again = await post('/stamp', { content, file_path: 'tools/answer.py' })
    assert.equal(again.body.data.created, false)
    assert.equal(again.body.data.stamped_content, stampedPython, 'same content, same stamp')

    const restamp = await post('/stamp', { content: stampedPython, file_path: 'tools/answer.py' })
    assert.equal(restamp.body.data.file_hash, pythonHash, 'stamping stamped content keeps the hash')
    assert.equal(restamp.body.data.stamped_content, stampedPython)
    assert.equal(restamp.body.data.changed, false)
  })

  await t.test('the same content in two namespaces is two records', async () => {
    const other = await post('/stamp', {
      content: 'def main():\n    return 42\n',
      file_path: 'tools/answer.py',
      namespace: 'onex.tools',
    })
    assert.equal(other.body.data.created, true)
    assert.equal(other.body.data.file_hash, pythonHash)
    const both = await get(`/stamp/${pythonHash}`)
    assert.equal(both.status, 200)
    assert.deepEqual(both.body.data.records.map((r: Json) => r.namespace).sort(), [
      'omninode.services.metadata',
      'onex.tools',
    ])
    const one = await get(`/stamp/${pythonHash}?namespace=onex.tools`)
    assert.equal(one.body.data.records.length, 1)
  })

  await t.test('POST /stamp: rich stamps and binary sidecars', async () => {
    const rich = await post('/stamp', {
      content: '# Notes\n\nSome text.\n',
      file_path: 'NOTES.md',
      stamp_type: 'rich',
    })
    assert.equal(rich.status, 200, JSON.stringify(rich.body))
    assert.match(rich.body.data.stamped_content, /ONEX_METADATA_START[\s\S]*ONEX_METADATA_END/)
    const png = await post('/stamp', { content_base64: pngHeader.toString('base64'), file_path: 'logo.png' })
    assert.equal(png.status, 200, JSON.stringify(png.body))
    assert.equal(png.body.data.stamp_type, 'sidecar')
    assert.equal(png.body.data.stamped_content_base64, undefined, 'binary content is never modified')
    assert.equal(png.body.data.file_hash, b3(pngHeader))
    assert.ok(png.body.data.sidecar)
  })

  await t.test('POST /stamp: bad input names the field', async () => {
    expectError(
      await post('/stamp', { content: 'x', namespace: 'bad namespace' }),
      400,
      'ONEX_CORE_007_INVALID_INPUT',
      'namespace',
    )
    expectError(
      await post('/stamp', { content: 'x', stamp_type: 'heavy' }),
      400,
      'ONEX_CORE_007_INVALID_INPUT',
      'stamp_type',
    )
    expectError(await post('/stamp', { file_path: 'a.py' }), 400, 'ONEX_CORE_007_INVALID_INPUT', 'content')
    expectError(await post('/stamp', { content: 12 }), 400, 'ONEX_CORE_007_INVALID_INPUT', 'content')
    expectError(await post('/stamp', []), 400, 'ONEX_CORE_007_INVALID_INPUT')
  })

  await t.test('POST /validate: valid, tampered and unstamped content', async () => {
    const valid = await post('/validate', { content: stampedPython, file_path: 'tools/answer.py' })
    assert.equal(valid.status, 200)
    assert.equal(valid.body.data.valid, true)
    assert.equal(valid.body.data.current_hash, pythonHash)
    assert.equal(valid.body.data.stamps.length, 1)
    const tampered = await post('/validate', {
      content: stampedPython.replace('return 42', 'return 43'),
      file_path: 'tools/answer.py',
    })
    assert.equal(tampered.body.data.valid, false)
    assert.equal(tampered.body.data.stamps[0].valid, false)
    const plain = await post('/validate', { content: 'print(1)\n', file_path: 'x.py' })
    assert.equal(plain.body.data.stamped, false)
    assert.equal(plain.body.data.valid, false)
    expectError(await post('/validate', {}), 400, 'ONEX_CORE_007_INVALID_INPUT', 'content')
  })

  await t.test('POST /batch: per-item results; a bad item never sinks the others', async () => {
    const res = await post('/batch', {
      items: [
        { content: 'one\n', file_path: 'one.txt' },
        { content: 'two\n', namespace: 'not valid' },
        { nothing: true },
        { content_base64: pngHeader.toString('base64'), file_path: 'pic.png', namespace: 'onex.batch' },
      ],
    })
    assert.equal(res.status, 200, JSON.stringify(res.body))
    const { total, succeeded, failed, results } = res.body.data
    assert.deepEqual([total, succeeded, failed], [4, 2, 2])
    assert.deepEqual(
      results.map((r: Json) => r.status),
      ['success', 'error', 'error', 'success'],
    )
    assert.equal(results[1].error.code, 'ONEX_CORE_007_INVALID_INPUT')
    assert.ok(results[1].error.details.issues.some((i: Json) => i.field === 'items.1.namespace'))
    assert.equal(results[3].data.stamp_type, 'sidecar')
    expectError(await post('/batch', { items: [] }), 400, 'ONEX_CORE_007_INVALID_INPUT', 'items')
    expectError(
      await post('/batch', { items: Array.from({ length: 6 }, () => ({ content: 'x' })) }),
      400,
      'ONEX_CORE_007_INVALID_INPUT',
      'items',
    )
  })

  await t.test('POST /validate-protocol reports every violation', async () => {
    const good = {
      metadata_version: '0.1',
      protocol_version: '0.1',
      name: 'answer',
      version: '1.0.0',
      uuid: '3f1e2d4c-5b6a-4789-8abc-def012345678',
      author: 'bridge',
      created_at: '2026-01-01T00:00:00Z',
      last_modified_at: '2026-01-02T00:00:00Z',
      description: 'the answer tool',
      hash: pythonHash,
      namespace: 'omninode.tools.answer',
      meta_type: 'tool',
      lifecycle: 'active',
    }
    const ok = await post('/validate-protocol', { metadata: good })
    assert.equal(ok.status, 200)
    assert.deepEqual(ok.body.data, { valid: true, issues: [] })
    const bad = await post('/validate-protocol', {
      metadata: { ...good, namespace: 'elsewhere', uuid: 'nope', name: undefined },
    })
    assert.equal(bad.body.data.valid, false)
    const fields = bad.body.data.issues.map((i: Json) => i.field)
    for (const f of ['namespace', 'uuid', 'name']) assert.ok(fields.includes(f), `${f} in ${fields}`)
    expectError(await post('/validate-protocol', {}), 400, 'ONEX_CORE_007_INVALID_INPUT', 'metadata')
  })

  await t.test('GET /stamp/{file_hash}: 400 for a malformed hash, unified 404 when absent', async () => {
    expectError(await get('/stamp/xyz'), 400, 'ONEX_CORE_007_INVALID_INPUT', 'file_hash')
    expectError(await get(`/stamp/${'0'.repeat(64)}`), 404, 'ONEX_CORE_029_NOT_FOUND')
    expectError(await get(`/stamp/${pythonHash}?namespace=onex.absent`), 404, 'ONEX_CORE_029_NOT_FOUND')
  })

  await t.test('GET /namespace/{namespace}: cursor pagination visits every record once', async () => {
    for (let i = 0; i < 7; i++) await post('/stamp', { content: `item ${i}\n`, namespace: 'onex.paging' })
    const seen: string[] = []
    let cursor: string | null = null
    let pages = 0
    do {
      const page: { status: number; body: Json } = await get(
        `/namespace/onex.paging?limit=3${cursor ? `&cursor=${cursor}` : ''}`,
      )
      assert.equal(page.status, 200, JSON.stringify(page.body))
      seen.push(...page.body.data.items.map((r: Json) => r.id))
      cursor = page.body.data.next_cursor
      pages++
    } while (cursor)
    assert.equal(pages, 3)
    assert.equal(seen.length, 7)
    assert.equal(new Set(seen).size, 7)
    expectError(
      await get('/namespace/onex.paging?cursor=garbage'),
      400,
      'ONEX_CORE_007_INVALID_INPUT',
      'cursor',
    )
    expectError(await get('/namespace/onex.paging?limit=0'), 400, 'ONEX_CORE_007_INVALID_INPUT', 'limit')
    expectError(await get('/namespace/Not-A-Namespace'), 400, 'ONEX_CORE_007_INVALID_INPUT', 'namespace')
    const empty = await get('/namespace/onex.nothing.here')
    assert.deepEqual(empty.body.data.items, [])
  })

  await t.test('unknown routes get a unified 404; the correlation id is echoed', async () => {
    expectError(await get('/nope'), 404, 'ONEX_CORE_029_NOT_FOUND')
    const id = '0b7d3c2a-1e4f-4a5b-9c8d-7e6f5a4b3c2d'
    const res = await app.inject({ method: 'GET', url: '/health/live', headers: { 'x-correlation-id': id } })
    assert.equal(res.headers['x-correlation-id'], id)
    assert.equal(res.json().metadata.correlation_id, id)
  })

  await t.test('health, readiness and Prometheus metrics', async () => {
    const health = await get('/health')
    assert.equal(health.body.data.status, 'healthy')
    assert.equal(health.body.data.components.database.status, 'up')
    assert.equal((await get('/health/live')).status, 200)
    assert.equal((await get('/health/ready')).status, 200)
    const metrics = await app.inject({ method: 'GET', url: '/metrics' })
    assert.equal(metrics.statusCode, 200)
    assert.match(metrics.headers['content-type'] as string, /text\/plain/)
    assert.match(
      metrics.body,
      /omninode_http_requests_total\{route="\/stamp",method="POST",status="200"\} \d+/,
    )
    assert.match(metrics.body, /omninode_http_request_duration_seconds_bucket/)
    assert.match(metrics.body, /omninode_hash_duration_seconds_count\{operation="hash",backend="\w+"\} \d+/)
    assert.match(
      metrics.body,
      new RegExp(`omninode_db_query_duration_seconds_count\\{dialect="${backend}",outcome="ok"\\} \\d+`),
    )
  })

  await t.test('OpenAPI document at /docs/json lists every stamping route', async () => {
    const res = await app.inject({ method: 'GET', url: '/docs/json' })
    assert.equal(res.statusCode, 200)
    const paths = Object.keys(res.json().paths)
    for (const p of [
      '/hash',
      '/stamp',
      '/validate',
      '/batch',
      '/validate-protocol',
      '/stamp/{file_hash}',
      '/namespace/{namespace}',
      '/health',
    ]) {
      assert.ok(paths.includes(p), `${p} in ${paths}`)
    }
  })
}

async function databaseGone(t: TestContext, backend: Dialect) {
  const bridge = await startTestBridge(t, { backend })
  await bridge.db.close()
  const res = await bridge.app.inject({ method: 'POST', url: '/stamp', payload: { content: 'x\n' } })
  assert.equal(res.statusCode, 503, res.body)
  assert.equal(res.json().error.code, 'ONEX_CORE_050_SERVICE_UNAVAILABLE')
  assert.equal(res.headers['retry-after'], '1')
  assert.doesNotMatch(res.body, /PGlite|pool|ECONN|terminat| {4}at /i)
  const ready = await bridge.app.inject({ method: 'GET', url: '/health/ready' })
  assert.equal(ready.statusCode, 503)
}

async function overRealSocket(t: TestContext, backend: Dialect) {
  const { app } = await startTestBridge(t, { backend })
  const address = await app.listen({ host: '127.0.0.1', port: 0 })
  const res = await fetch(`${address}/hash`, {
    method: 'POST',
    body: 'abc',
    headers: { 'content-type': 'application/octet-stream' },
  })
  assert.equal(res.status, 200)
  const body = (await res.json()) as Json
  assert.equal(body.data.file_hash, '6437b3ac38465133ffb63b75273a8db548c558465d79db03fd359c6cd5bd9d85')
  const stamp = await fetch(`${address}/stamp`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ content: 'console.log(1)\n', file_path: 'a.js' }),
  })
  assert.equal(stamp.status, 200)
  assert.match(((await stamp.json()) as Json).data.stamped_content, /^\/\/ ONEX:uid=/)
}
