import { getSystemErrorMessage } from 'node:util'

/**
 * Why a file operation failed, as one line: the system's text for an errno (`no such file or
 * directory`), else the error's message. Lower case; `omninode hash` capitalises it as b3sum does.
 */
export function reasonOf(err: unknown): string {
  const errno = (err as NodeJS.ErrnoException | null)?.errno
  if (typeof errno === 'number') return getSystemErrorMessage(errno)
  return err instanceof Error ? err.message : String(err)
}
