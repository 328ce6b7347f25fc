import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { randomFillSync } from 'node:crypto'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Readable, Writable } from 'node:stream'
import { after, before, describe, it, type TestContext } from 'node:test'
import { fileURLToPath } from 'node:url'
import { hashFiles } from '../../../src/cli/hash-files.ts'
import { type Blake3, loadBlake3 } from '../../../src/core/hashing/blake3.ts'
import { ensureDebianTool } from '../../helpers/debian-tool.ts'

const MiB = 1 << 20
const cliScript = fileURLToPath(new URL('../../fixtures/omninode-hash.ts', import.meta.url))

// Names as b3sum must escape them (backslash, newline) and as it must not (space).
const FILES: Record<string, number> = {
  empty: 0,
  'one-byte': 1,
  'one-mib-plus-3': MiB + 3,
  'twenty-mib': 20 * MiB + 17,
  'with space': 1000,
  'back\\slash': 10,
  'new\nline': 11,
}
const NAMES = Object.keys(FILES)

interface Finished {
  code: number | null
  stdout: Buffer
  stderr: Buffer
}

function runProcess(command: string, args: string[], cwd: string, input?: Buffer): Promise<Finished> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd })
    const stdout: Buffer[] = []
    const stderr: Buffer[] = []
    child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk))
    child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk))
    child.on('error', reject)
    child.on('close', (code) =>
      resolve({ code, stdout: Buffer.concat(stdout), stderr: Buffer.concat(stderr) }),
    )
    child.stdin.end(input)
  })
}

function collector(): { stream: Writable; text: () => string } {
  const chunks: Buffer[] = []
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      chunks.push(chunk)
      done()
    },
  })
  return { stream, text: () => Buffer.concat(chunks).toString() }
}

describe('hashFiles matches b3sum byte for byte', () => {
  let dir: string
  let blake3: Blake3
  let skipReason: string | undefined

  before(async () => {
    // b3sum is the reference. Install it where we may (root, Debian); otherwise say why the tests skip.
    skipReason = ensureDebianTool('b3sum')
    blake3 = await loadBlake3()
    dir = await mkdtemp(join(tmpdir(), 'omninode-hash-'))
    const random = randomFillSync(Buffer.alloc(MiB))
    for (const [name, size] of Object.entries(FILES)) {
      const content = Buffer.alloc(size)
      // Vary each MiB (the first byte) so that repeated blocks cannot hide an offset bug.
      for (let at = 0; at < size; at += MiB) {
        random[0] = at / MiB
        random.copy(content, at)
      }
      await writeFile(join(dir, name), content)
    }
    await mkdir(join(dir, 'a-directory'))
  })
  after(() => rm(dir, { recursive: true, force: true }))

  const skipped = (t: TestContext): boolean => {
    if (skipReason) t.skip(skipReason)
    return skipReason !== undefined
  }

  // hashFiles prints paths as given, and b3sum runs in `dir` on bare names: so pass absolute paths
  // and strip the directory from the output (mkdtemp names hold no character b3sum would escape).
  const hash = async (paths: string[], stdin?: Buffer) => {
    const out = collector()
    const err = collector()
    const code = await hashFiles(
      paths.map((p) => (p === '-' ? p : join(dir, p))),
      { blake3, out: out.stream, err: err.stream, ...(stdin ? { stdin: Readable.from([stdin]) } : {}) },
    )
    const strip = (text: string) => text.replaceAll(`${dir}/`, '')
    return { code, stdout: strip(out.text()), stderr: strip(err.text()) }
  }

  it('hashes every file like b3sum, escaped names included', async (t) => {
    if (skipped(t)) return
    const reference = await runProcess('b3sum', NAMES, dir)
    assert.equal(reference.code, 0)
    const ours = await hash(NAMES)
    assert.equal(ours.code, 0)
    assert.equal(ours.stderr, '')
    assert.equal(ours.stdout, reference.stdout.toString())
    // The escaping is there: the two odd names' lines start with a backslash.
    assert.equal(ours.stdout.split('\n').filter((line) => line.startsWith('\\')).length, 2)
  })

  it('reports a missing file and a directory, keeps going, and exits 1', async (t) => {
    if (skipped(t)) return
    const paths = ['one-byte', 'missing', 'a-directory', 'empty']
    const reference = await runProcess('b3sum', paths, dir)
    const ours = await hash(paths)
    assert.equal(reference.code, 1)
    assert.equal(ours.code, 1)
    assert.equal(ours.stdout, reference.stdout.toString())
    const errors = ours.stderr.split('\n')
    assert.equal(errors[0], 'omninode hash: missing: No such file or directory')
    assert.equal(errors[1], 'omninode hash: a-directory: Is a directory', 'b3sum adds "(os error 21)"')
    assert.equal(errors.length, 3)
  })

  it('reads stdin for - and for no paths, named -', async (t) => {
    if (skipped(t)) return
    const input = randomFillSync(Buffer.alloc(3 * MiB + 5))
    const reference = await runProcess('b3sum', ['one-byte', '-'], dir, input)
    assert.equal((await hash(['one-byte', '-'], input)).stdout, reference.stdout.toString())
    const alone = await hash([], input)
    assert.equal(alone.stdout, reference.stdout.toString().split('\n')[1] + '\n')
    assert.match(alone.stdout, /^[0-9a-f]{64} {2}-\n$/)
  })

  it('gives the same bytes and exit code when run as a process', async (t) => {
    if (skipped(t)) return
    const args = [...NAMES, 'missing', '-']
    const input = Buffer.from('from stdin\n')
    const reference = await runProcess('b3sum', args, dir, input)
    const ours = await runProcess(process.execPath, [cliScript, ...args], dir, input)
    assert.deepEqual(ours.stdout, reference.stdout)
    assert.equal(ours.code, 1)
    assert.equal(ours.stderr.toString(), 'omninode hash: missing: No such file or directory\n')
  })
})
