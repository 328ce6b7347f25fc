import { getSystemErrorMessage } from 'node:util'

/**
 * The C library's wording where libuv's differs (libuv says "illegal operation on a directory"):
 * what b3sum and other tools print for the same errno.
 */
const libcWording: Readonly<Record<string, string>> = { EISDIR: 'is a directory' }

/**
 * Why a file operation failed, as one line: the system's text for an errno (`no such file or
 * directory`), else the error's message. Lower case; `omninode hash` capitalises it as b3sum does.
 */
export function reasonOf(err: unknown): string {
  const { errno, code } = (err as NodeJS.ErrnoException | null) ?? {}
  if (code !== undefined && libcWording[code]) return libcWording[code]
  if (typeof errno === 'number') return getSystemErrorMessage(errno)
  return err instanceof Error ? err.message : String(err)
}
