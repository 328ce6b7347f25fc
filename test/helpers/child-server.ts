import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'

export const omninodeBin = fileURLToPath(new URL('../../bin/omninode', import.meta.url))

export interface ChildServer {
  child: ChildProcess
  url: string
  /** Every log line the server printed (JSON). */
  logs: string[]
  exited: Promise<[number | null, NodeJS.Signals | null]>
}

/** Runs `omninode serve` as a real process on a free port and waits until it listens. */
export async function startChildServer(
  args: string[],
  env: Record<string, string> = {},
): Promise<ChildServer> {
  const child = spawn(omninodeBin, ['serve', '--port', '0', ...args], {
    env: { ...process.env, OMNINODE_LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>
  const logs: string[] = []
  const stderr: string[] = []
  child.stderr!.on('data', (chunk: Buffer) => stderr.push(chunk.toString()))
  const url = await new Promise<string>((resolve, reject) => {
    // A first start creates the embedded cluster (initdb), which takes seconds on a busy machine.
    const timer = setTimeout(() => {
      // a server left running would keep the test file alive until its own timeout
      child.kill('SIGKILL')
      reject(new Error(`server did not start: ${logs.join('\n')}${stderr.join('')}`))
    }, 90_000)
    createInterface({ input: child.stdout! }).on('line', (line) => {
      logs.push(line)
      try {
        const entry = JSON.parse(line) as { url?: string; docs?: string }
        if (entry.url && entry.docs) {
          clearTimeout(timer)
          resolve(entry.url)
        }
      } catch {
        // not JSON: keep it in the logs
      }
    })
    void exited.then(([code]) => {
      clearTimeout(timer)
      reject(new Error(`server exited with ${code} before listening: ${logs.join('\n')}${stderr.join('')}`))
    })
  })
  return { child, url, logs, exited }
}

export interface CommandResult {
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
  /** Wall time from spawn to exit. */
  ms: number
}

/** Runs `omninode <args>` to completion (killed after `timeoutMs`), with `env` over the test's own. */
export async function runOmninode(
  args: string[],
  env: Record<string, string> = {},
  timeoutMs = 60_000,
): Promise<CommandResult> {
  const started = performance.now()
  const child = spawn(omninodeBin, args, {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: timeoutMs,
  })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString()
  })
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString()
  })
  const [code, signal] = (await once(child, 'close')) as [number | null, NodeJS.Signals | null]
  return { code, signal, stdout, stderr, ms: performance.now() - started }
}
