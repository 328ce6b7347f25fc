/**
 * `npm run bench -- hash`: the BLAKE3 facade and `omninode hash`, with b3sum as the anchor.
 * - one-shot throughput (GB/s) at 1 KiB, 64 KiB, 1 MiB, 64 MiB, native and wasm;
 * - one-shot latency p50/p99 (ms) at 64 B, 1 KiB, 4 KiB (target: p99 <= 0.05 ms natively);
 * - a 1 GiB generated file through hashFiles (the code `omninode hash` runs) and through
 *   `b3sum --num-threads 1`, in the same run and on the same page-cached file, and their ratio.
 */
import { spawn } from 'node:child_process'
import { randomFillSync } from 'node:crypto'
import { mkdtemp, open, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import { hashFiles } from '../src/cli/hash-files.ts'
import { type Blake3, loadBlake3 } from '../src/core/hashing/blake3.ts'
import { latencyMs, median, round, throughputGBps } from './measure.ts'
import { report } from './report.ts'

const KiB = 1 << 10
const MiB = 1 << 20
const GiB = 1 << 30
const ROUNDS = 5

export async function run(): Promise<void> {
  const backends = [await loadBlake3('native'), await loadBlake3('wasm')]
  const data = randomFillSync(new Uint8Array(64 * MiB))

  for (const blake3 of backends) {
    for (const size of [KiB, 64 * KiB, MiB, 64 * MiB]) {
      const input = data.subarray(0, size)
      const value = throughputGBps(() => blake3.hashHex(input), size, 600)
      report('hash', 'oneshot_throughput', round(value), 'GB/s', {
        backend: blake3.backend,
        size_bytes: size,
      })
    }
  }

  for (const blake3 of backends) {
    for (const size of [64, KiB, 4 * KiB]) {
      const input = data.subarray(0, size)
      const { p50, p99, p999, max } = latencyMs(() => blake3.hashHex(input), 100_000)
      const extra = { backend: blake3.backend, size_bytes: size, samples: 100_000 }
      report('hash', 'oneshot_latency_p50', round(p50), 'ms', extra)
      report('hash', 'oneshot_latency_p99', round(p99), 'ms', {
        ...extra,
        p999_ms: round(p999),
        max_ms: round(max),
      })
    }
  }

  const dir = await mkdtemp(join(tmpdir(), 'omninode-bench-hash-'))
  try {
    const file = join(dir, 'one-gib.bin')
    await writeRandomFile(file, GiB, data.subarray(0, MiB))
    await streamingVersusB3sum(backends[0]!, backends[1]!, file)
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

async function streamingVersusB3sum(native: Blake3, wasm: Blake3, file: string): Promise<void> {
  // The file was just written, so it sits in the page cache for both tools: this compares hashing
  // and reading from memory, not the disk. An untimed pass each warms up; then rounds alternate so
  // that drift hits both alike.
  await timeHashFiles(native, file)
  await timeB3sum(file).catch(() => undefined)
  const ours: number[] = []
  const theirs: number[] = []
  let ourLine = ''
  let theirLine: string | undefined
  let b3sumMissing: string | undefined
  for (let round = 0; round < ROUNDS; round++) {
    const timed = await timeHashFiles(native, file)
    ours.push(timed.seconds)
    ourLine = timed.line
    if (b3sumMissing) continue
    try {
      const b3sum = await timeB3sum(file)
      theirs.push(b3sum.seconds)
      theirLine = b3sum.line
    } catch (error) {
      b3sumMissing = (error as Error).message
    }
  }
  const oursGBps = GiB / median(ours) / 1e9
  const extra = { size_bytes: GiB, rounds: ROUNDS, runs_s: ours.map(round), page_cache: 'warm' }
  report('hash', 'stream_file_throughput', round(oursGBps), 'GB/s', { backend: 'native', ...extra })

  if (theirLine === undefined) {
    process.stderr.write(`b3sum not measured: ${b3sumMissing ?? 'no run'}\n`)
  } else {
    if (theirLine !== ourLine) throw new Error(`digests differ: ours ${ourLine}, b3sum ${theirLine}`)
    const theirsGBps = GiB / median(theirs) / 1e9
    report('hash', 'b3sum_1thread_file_throughput', round(theirsGBps), 'GB/s', {
      ...extra,
      runs_s: theirs.map(round),
      command: 'b3sum --num-threads 1',
    })
    report('hash', 'stream_file_vs_b3sum_ratio', round(oursGBps / theirsGBps), 'x', { backend: 'native' })
  }

  // One round on wasm: what `omninode hash` does where the native binary cannot load.
  const fallback = await timeHashFiles(wasm, file)
  if (fallback.line !== ourLine) throw new Error('wasm and native digests of the file differ')
  report('hash', 'stream_file_throughput', round(GiB / fallback.seconds / 1e9), 'GB/s', {
    backend: 'wasm',
    size_bytes: GiB,
    rounds: 1,
    page_cache: 'warm',
  })
}

async function timeHashFiles(blake3: Blake3, file: string): Promise<{ seconds: number; line: string }> {
  let line = ''
  const out = new Writable({
    write(chunk: Buffer, _encoding, done) {
      line += chunk.toString()
      done()
    },
  })
  const start = performance.now()
  const code = await hashFiles([file], { blake3, out, err: process.stderr })
  const seconds = (performance.now() - start) / 1000
  if (code !== 0) throw new Error(`hashFiles exited ${code}`)
  return { seconds, line }
}

// Wall time from spawn to exit, as a user would see it: includes b3sum's start-up (about a millisecond).
function timeB3sum(file: string): Promise<{ seconds: number; line: string }> {
  return new Promise((resolve, reject) => {
    const start = performance.now()
    const child = spawn('b3sum', ['--num-threads', '1', file], { stdio: ['ignore', 'pipe', 'inherit'] })
    let line = ''
    child.stdout.on('data', (chunk: Buffer) => {
      line += chunk.toString()
    })
    child.on('error', reject)
    child.on('close', (code) => {
      const seconds = (performance.now() - start) / 1000
      if (code === 0) resolve({ seconds, line })
      else reject(new Error(`b3sum exited ${code}`))
    })
  })
}

// Writes `size` bytes by repeating `block` with its first byte varied, so no two MiB are the same.
async function writeRandomFile(path: string, size: number, block: Uint8Array): Promise<void> {
  const file = await open(path, 'w')
  try {
    for (let at = 0; at < size; at += block.length) {
      block[0] = (at / block.length) & 0xff
      await file.write(block, 0, Math.min(block.length, size - at))
    }
    // Flush now, so that write-back of a fresh GiB does not compete with the timed runs.
    await file.sync()
  } finally {
    await file.close()
  }
}
