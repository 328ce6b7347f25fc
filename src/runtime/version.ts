import { readFileSync } from 'node:fs'

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
  version: string
}

/** The package version, reported by /health, the CLI and (later) every envelope's source_version. */
export const bridgeVersion: string = pkg.version
