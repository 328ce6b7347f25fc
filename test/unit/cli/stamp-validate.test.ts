import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import { after, before, describe, it } from 'node:test'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { stampFiles } from '../../../src/cli/stamp-files.ts'
import { validateFiles } from '../../../src/cli/validate-files.ts'
import { type Blake3, loadBlake3 } from '../../../src/core/hashing/blake3.ts'

const omninode = fileURLToPath(new URL('../../../bin/omninode', import.meta.url))
const pngBytes = Buffer.from([
  0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52, 7,
])

/** A stream that keeps what is written to it; `tty` makes it look like a terminal. */
function sink(tty = false): Writable & { text: () => string; isTTY?: boolean; columns?: number } {
  const chunks: string[] = []
  const stream = new Writable({
    write(chunk, _encoding, done) {
      chunks.push(String(chunk))
      done()
    },
  }) as Writable & { text: () => string; isTTY?: boolean; columns?: number; cursorTo?: unknown }
  stream.text = () => chunks.join('')
  if (tty) {
    // What cli-progress calls on a terminal; drawing is checked by what ends up in the text.
    const done = (...args: unknown[]) => {
      const callback = args.findLast((a) => typeof a === 'function') as (() => void) | undefined
      callback?.()
      return true
    }
    Object.assign(stream, {
      isTTY: true,
      columns: 100,
      cursorTo: done,
      clearLine: done,
      moveCursor: done,
      clearScreenDown: done,
    })
  }
  return stream
}

async function tree(root: string, files: Record<string, string | Uint8Array>): Promise<void> {
  for (const [name, content] of Object.entries(files)) {
    await mkdir(join(root, name, '..'), { recursive: true })
    await writeFile(join(root, name), content)
  }
}

describe('omninode stamp and validate', () => {
  let blake3: Blake3
  let dir: string
  before(async () => {
    blake3 = await loadBlake3('auto')
    dir = await mkdtemp(join(tmpdir(), 'omninode-stamp-'))
  })
  after(() => rm(dir, { recursive: true, force: true }))

  const stamp = async (
    paths: string[],
    opts: { write?: boolean; recursive?: boolean; type?: 'rich' } = {},
  ) => {
    const out = sink()
    const code = await stampFiles(paths, {
      blake3,
      write: opts.write ?? false,
      stampType: opts.type ?? 'lightweight',
      namespace: 'omninode.test',
      recursive: opts.recursive ?? false,
      out,
      err: sink(),
    })
    return { code, out: out.text() }
  }
  const validate = async (paths: string[], recursive = false) => {
    const out = sink()
    const code = await validateFiles(paths, { blake3, recursive, out, err: sink() })
    return { code, out: out.text() }
  }

  it('dry run by default: reports what would change and touches nothing', async () => {
    const root = join(dir, 'dry')
    await tree(root, { 'a.py': 'print(1)\n', 'b.md': '# Title\n', 'c.png': pngBytes })
    const before = await readdir(root)
    const { code, out } = await stamp([root])
    assert.equal(code, 0)
    assert.match(out, /^would stamp {2}\S+a\.py {2}\(lightweight, [0-9a-f]{12}…\)$/m)
    assert.match(out, /^would write {2}\S+c\.png\.onex-meta\.json {2}\(sidecar of image content/m)
    assert.match(out, /3 files: 3 would change, 0 unchanged, 0 errors; nothing was written/)
    assert.deepEqual(await readdir(root), before)
    assert.equal(await readFile(join(root, 'a.py'), 'utf8'), 'print(1)\n')
  })

  it('--write stamps text in place, gives binary and JSON a sidecar, and is idempotent', async () => {
    const root = join(dir, 'write')
    await tree(root, {
      'a.py': 'print(1)\r\nprint(2)',
      'b.js': '// ONEX:uid=looks-like-a-stamp-but-is-not\nconsole.log(1)\n',
      'c.png': pngBytes,
      'd.json': '{"a": 1}\n',
      'e.txt': '',
    })
    const first = await stamp([root], { write: true })
    assert.equal(first.code, 0)
    assert.match(first.out, /5 files: 5 stamped, 0 unchanged, 0 errors\n$/)
    const python = await readFile(join(root, 'a.py'), 'utf8')
    assert.match(
      python,
      /^# ONEX:uid=[0-9a-f-]{36},hash=[0-9a-f]{64},ts=[^,]+,ns=omninode\.test\r\nprint\(1\)\r\nprint\(2\)$/,
    )
    assert.deepEqual(await readFile(join(root, 'c.png')), pngBytes, 'binary content is never modified')
    assert.equal(await readFile(join(root, 'd.json'), 'utf8'), '{"a": 1}\n')
    const sidecar = JSON.parse(await readFile(join(root, '.c.png.onex-meta.json'), 'utf8'))
    assert.equal(sidecar.hash, blake3.hashHex(pngBytes))
    assert.equal(sidecar.namespace, 'omninode.test')

    const again = await stamp([root], { write: true })
    assert.match(again.out, /5 files: 0 stamped, 5 unchanged, 0 errors\n$/)
    assert.equal(await readFile(join(root, 'a.py'), 'utf8'), python, 'a second run changes nothing')
    assert.equal((await readdir(root)).filter((f) => f.endsWith('.tmp')).length, 0, 'no temporary files left')

    const checked = await validate([root])
    assert.equal(checked.code, 0, checked.out)
    assert.match(checked.out, /5 files: 5 valid, 0 tampered, 0 unstamped, 0 errors/)
  })

  it('validate: exit 1 for tampered or unstamped files, 2 when a file cannot be read', async () => {
    const root = join(dir, 'tamper')
    await tree(root, {
      'a.py': 'x = 1\n',
      'b.py': 'y = 2\n',
      'plain.txt': 'never stamped\n',
      'pic.png': pngBytes,
    })
    await stamp([join(root, 'a.py'), join(root, 'b.py'), join(root, 'pic.png')], {
      write: true,
      type: 'rich',
    })
    assert.equal((await validate([join(root, 'a.py'), join(root, 'pic.png')])).code, 0)

    await writeFile(
      join(root, 'a.py'),
      (await readFile(join(root, 'a.py'), 'utf8')).replace('x = 1', 'x = 2'),
    )
    const tampered = await validate([join(root, 'a.py'), join(root, 'b.py')])
    assert.equal(tampered.code, 1)
    assert.match(
      tampered.out,
      /^TAMPERED {3}\S+a\.py {2}\(rich stamp on line \d+ says [0-9a-f]{12}…, content is [0-9a-f]{12}…\)$/m,
    )
    assert.match(tampered.out, /^valid {6}\S+b\.py/m)

    await writeFile(join(root, 'pic.png'), Buffer.concat([pngBytes, Buffer.from([0])]))
    assert.equal((await validate([join(root, 'pic.png')])).code, 1, 'a changed binary file is detected')

    const unstamped = await validate([join(root, 'plain.txt')])
    assert.equal(unstamped.code, 1)
    assert.match(unstamped.out, /^unstamped {2}\S+plain\.txt/m)

    const missing = await validate([join(root, 'b.py'), join(root, 'nope.py')])
    assert.equal(missing.code, 2)
    assert.match(missing.out, /^error {6}\S+nope\.py: no such file or directory$/m)
  })

  it('directories: top-level files by default; --recursive walks, skipping .git, node_modules and sidecars', async () => {
    const root = join(dir, 'walk')
    await tree(root, {
      'top.py': 'a = 1\n',
      'sub/inner.py': 'b = 2\n',
      'node_modules/dep/index.js': 'module.exports = 1\n',
      '.git/config': '[core]\n',
      'img.png': pngBytes,
      '.img.png.onex-meta.json': '{}',
    })
    const flat = await stamp([root])
    assert.match(flat.out, /^2 files: /m)
    const deep = await stamp([root], { recursive: true })
    assert.match(deep.out, /^3 files: /m)
    assert.match(deep.out, /inner\.py/)
    assert.doesNotMatch(deep.out, /node_modules|\.git\/|would stamp {2}\S+onex-meta\.json/)
  })

  it('many files on a terminal: a progress bar on stderr, every result line still printed', async () => {
    const root = join(dir, 'many')
    const files: Record<string, string> = {}
    for (let i = 0; i < 30; i++) files[`f${String(i).padStart(2, '0')}.py`] = `n = ${i}\n`
    await tree(root, files)
    const out = sink()
    const err = sink(true)
    const code = await stampFiles([root], {
      blake3,
      write: false,
      stampType: 'lightweight',
      namespace: 'omninode.test',
      recursive: false,
      out,
      err,
    })
    assert.equal(code, 0)
    assert.equal(out.text().match(/^would stamp/gm)?.length, 30)
    // The bar draws at most 10 times a second, so a fast run may finish before its first frame; that
    // it took the terminal (hid the cursor) and gave it back shows it ran.
    assert.ok(err.text().includes('\u001b[?25l'), 'cursor hidden while the bar runs')
    assert.ok(err.text().includes('\u001b[?25h'), 'cursor shown again')
    const quiet = sink(true)
    await stampFiles([join(root, 'f00.py')], {
      blake3,
      write: false,
      stampType: 'lightweight',
      namespace: 'omninode.test',
      recursive: false,
      out: sink(),
      err: quiet,
    })
    assert.equal(quiet.text(), '', 'no bar for a few files')
  })
})

describe('omninode stamp and validate as commands', () => {
  const run = promisify(execFile)
  const cli = async (args: string[]) => {
    try {
      const { stdout, stderr } = await run(omninode, args, { encoding: 'utf8' })
      return { code: 0, stdout, stderr }
    } catch (err) {
      const e = err as { code: number; stdout: string; stderr: string }
      return { code: e.code, stdout: e.stdout, stderr: e.stderr }
    }
  }
  let dir: string
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'omninode-stamp-cli-'))
  })
  after(() => rm(dir, { recursive: true, force: true }))

  it('stamp --write then validate: exit 0, then 1 after tampering', async () => {
    const file = join(dir, 'tool.sh')
    await writeFile(file, '#!/bin/sh\necho hi\n')
    const stamped = await cli(['stamp', '--write', '--type', 'rich', file])
    assert.equal(stamped.code, 0, stamped.stderr)
    assert.match(await readFile(file, 'utf8'), /^#!\/bin\/sh\n/, 'the shebang stays first')
    assert.equal((await cli(['validate', file])).code, 0)
    await writeFile(file, (await readFile(file, 'utf8')).replace('echo hi', 'echo ho'))
    const checked = await cli(['validate', file])
    assert.equal(checked.code, 1)
    assert.match(checked.stdout, /TAMPERED/)
  })

  it('bad arguments exit 2 with a message naming the option', async () => {
    const ns = await cli(['stamp', '--namespace', 'bad ns', dir])
    assert.equal(ns.code, 2)
    assert.match(ns.stderr, /--namespace/)
    assert.doesNotMatch(ns.stderr, /\n\s+at /, 'no stack trace')
    const type = await cli(['stamp', '--type', 'heavy', dir])
    assert.equal(type.code, 2)
    assert.match(type.stderr, /--type/)
    assert.equal((await cli(['validate'])).code, 2)
  })
})
