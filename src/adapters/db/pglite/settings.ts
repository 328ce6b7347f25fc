import type { PGliteOptions } from '@electric-sql/pglite'

/**
 * Every PGlite of the bridge, whoever opens it. Durability, chosen on purpose:
 * - `relaxedDurability: false` makes every query wait until PGlite has handed its writes to the file
 *   system;
 * - `synchronous_commit = on` makes COMMIT write the WAL before it returns.
 * So an acknowledged commit is in the data dir's files (the kernel's page cache) when we answer, and a
 * `kill -9` of the process loses nothing (test/e2e/crash-durability).
 *
 * What no setting here can give: a commit that survives a power loss or a kernel crash. PGlite starts
 * PostgreSQL with fsync off on its command line, which outranks any configuration file (pg_settings
 * says so; test/unit/adapters/db/pglite-settings pins it). An `fsync = on` here was ignored.
 */
export const pgliteSettings = {
  relaxedDurability: false,
  // 32 MB of buffers instead of PostgreSQL's 128 MB: they live in this process's WebAssembly heap,
  // and one embedded connection does not need more (measured: about 140 MB less resident memory).
  postgresqlconf: ['synchronous_commit = on', 'shared_buffers = 32MB'],
} satisfies PGliteOptions
