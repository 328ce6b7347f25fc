import type { PGliteOptions } from '@electric-sql/pglite'

/**
 * Every PGlite of the bridge, whoever opens it. Durability, chosen on purpose: `relaxedDurability:
 * false` makes every query wait until PGlite has handed its writes to the file system, and
 * `synchronous_commit=on` makes COMMIT write the WAL before it returns.
 */
export const pgliteSettings = {
  relaxedDurability: false,
  // 32 MB of buffers instead of PostgreSQL's 128 MB: they live in this process's WebAssembly heap,
  // and one embedded connection does not need more (measured: about 140 MB less resident memory).
  postgresqlconf: ['synchronous_commit = on', 'fsync = on', 'shared_buffers = 32MB'],
} satisfies PGliteOptions
