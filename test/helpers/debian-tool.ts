import { execFileSync } from 'node:child_process'

export function hasCommand(name: string): boolean {
  try {
    execFileSync('which', [name], { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
}

/**
 * Makes the command `name` (Debian package `pkg`) available, installing it with apt-get when missing
 * and running as root. Returns undefined when it is there, else why it cannot be had (a skip reason).
 */
export function ensureDebianTool(name: string, pkg = name): string | undefined {
  if (hasCommand(name)) return undefined
  if (process.getuid?.() !== 0) return `${name} not installable: not found on PATH and not running as root`
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }
  const install = () =>
    execFileSync('apt-get', ['install', '-y', '--no-install-recommends', pkg], { stdio: 'ignore', env })
  try {
    install()
  } catch {
    try {
      execFileSync('apt-get', ['update'], { stdio: 'ignore', env })
      install()
    } catch (error) {
      return `${name} not installable: apt-get failed (${(error as Error).message.split('\n')[0]})`
    }
  }
  return hasCommand(name) ? undefined : `${name} not installable: apt-get ran but ${name} is not on PATH`
}
