import { existsSync, readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import type { Static } from 'typebox'
import { Compile } from 'typebox/compile'
import Value from 'typebox/value'
import { parse as parseYaml } from 'yaml'
import { ConfigError } from '../../core/errors.ts'
import { issuesOf } from '../../core/schema.ts'
import { type ConfigKey, type ConfigKeyName, configKeys } from './keys.ts'

/** The config's type follows from the key table: a key without a default may be undefined. */
type ConfigValues = {
  [K in ConfigKeyName]: (typeof configKeys)[K] extends { default: unknown }
    ? Static<(typeof configKeys)[K]['schema']>
    : Static<(typeof configKeys)[K]['schema']> | undefined
}

export type BridgeConfig = ConfigValues & {
  /** The YAML file that was read, if any. */
  configFile: string | undefined
}

export interface ConfigSources {
  /** Environment variables (default: process.env). */
  env?: Record<string, string | undefined>
  /** Values from CLI flags, by config key name; highest priority. */
  flags?: Partial<Record<ConfigKeyName, unknown>>
  /** An explicit YAML file (`--config`, `OMNINODE_CONFIG`); must exist. */
  configFile?: string
  /** Where `config/<env>.yaml` is looked up (default: process.cwd()). */
  cwd?: string
}

const validators = new Map(Object.entries(configKeys).map(([name, key]) => [name, Compile(key.schema)]))

/**
 * Resolves the typed config: CLI flags → environment → YAML file → defaults (DESIGN section 7;
 * the secrets source and node contracts join this chain in later issues). An invalid value throws a
 * ConfigError naming the key as the user wrote it (env var, YAML key with its file, or flag).
 */
export function loadConfig(sources: ConfigSources = {}): BridgeConfig {
  const env = sources.env ?? process.env
  const flags = sources.flags ?? {}
  const cwd = sources.cwd ?? process.cwd()

  const envName = resolveKey('env', flags, env, {}, '')
  const explicitFile = sources.configFile ?? env['OMNINODE_CONFIG']
  const configFile = explicitFile
    ? resolve(cwd, explicitFile)
    : existingOrUndefined(resolve(cwd, 'config', `${String(envName)}.yaml`))
  const yaml = configFile ? readYaml(configFile, explicitFile !== undefined) : {}

  const values: Record<string, unknown> = {}
  for (const name of Object.keys(configKeys) as ConfigKeyName[]) {
    values[name] = resolveKey(name, flags, env, yaml, configFile ?? '')
  }
  return { ...(values as ConfigValues), configFile }
}

function resolveKey(
  name: ConfigKeyName,
  flags: Partial<Record<ConfigKeyName, unknown>>,
  env: Record<string, string | undefined>,
  yaml: Record<string, unknown>,
  file: string,
): unknown {
  const key: ConfigKey = configKeys[name]
  let raw: unknown
  let source: string
  if (flags[name] !== undefined) {
    raw = flags[name]
    source = key.flag ?? name
  } else if (env[key.env] !== undefined && env[key.env] !== '') {
    const text = env[key.env]!
    raw = key.list
      ? text
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean)
      : text
    source = key.env
  } else if (yaml[key.yaml] !== undefined) {
    raw = yaml[key.yaml]
    source = `${key.yaml} (in ${file})`
  } else {
    return key.default
  }
  if (key.list && typeof raw === 'string')
    raw = raw
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean)
  const value = Value.Convert(key.schema, raw)
  const validator = validators.get(name)!
  if (!validator.Check(value)) {
    const issue = issuesOf(validator.Errors(value))[0]
    const where = issue?.field ? ` (item ${issue.field})` : ''
    throw new ConfigError(source, `${JSON.stringify(raw)} ${issue?.message ?? 'is not valid'}${where}`)
  }
  return value
}

function readYaml(file: string, required: boolean): Record<string, unknown> {
  if (!existsSync(file)) {
    if (required) throw new ConfigError('OMNINODE_CONFIG', `file ${file} does not exist`)
    return {}
  }
  let doc: unknown
  try {
    doc = parseYaml(readFileSync(file, 'utf8'))
  } catch (err) {
    throw new ConfigError(file, `not valid YAML: ${(err as Error).message}`, { cause: err })
  }
  if (doc === null || doc === undefined) return {}
  if (typeof doc !== 'object' || Array.isArray(doc))
    throw new ConfigError(file, 'must be a mapping of keys to values')
  const known = new Set<string>(Object.values(configKeys).map((k) => k.yaml))
  for (const k of Object.keys(doc)) {
    if (!known.has(k)) throw new ConfigError(`${k} (in ${file})`, 'is not a known configuration key')
  }
  return doc as Record<string, unknown>
}

function existingOrUndefined(file: string): string | undefined {
  return existsSync(file) ? file : undefined
}
