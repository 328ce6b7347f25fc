// The README's generated tables (configuration keys, error codes) come from the code's own tables, so
// they cannot drift: `npm run docs` rewrites them in place, and test/unit/docs/readme.test.ts fails when
// the README differs from what this renders.
import { readFileSync, writeFileSync } from 'node:fs'
import { errorCatalogue, errorCodes } from '../src/core/errors.ts'
import { type ConfigKey, configKeys } from '../src/runtime/config/keys.ts'

export const readmePath = new URL('../README.md', import.meta.url)

const cell = (text: string) => text.replaceAll('|', '\\|')

export function configTable(): string {
  const rows = (Object.values(configKeys) as ConfigKey[]).map((key) => {
    const fallback =
      key.default === undefined
        ? '—'
        : `\`${Array.isArray(key.default) ? key.default.join(',') : String(key.default)}\``
    const flag = key.flag ? `\`${key.flag}\`` : ''
    return `| \`${key.env}\` | \`${key.yaml}\` | ${flag} | ${fallback} | ${cell(key.description)} |`
  })
  return [
    '| Environment | YAML key | `serve` flag | Default | Meaning |',
    '|---|---|---|---|---|',
    ...rows,
  ].join('\n')
}

export function errorTable(): string {
  const rows = errorCodes.map((code) => {
    const entry = errorCatalogue[code]
    return `| \`${code}\` | ${entry.status} | ${entry.retryable ? 'yes' : 'no'} | ${cell(entry.summary)} |`
  })
  return ['| Code | HTTP | Retry | Meaning |', '|---|---|---|---|', ...rows].join('\n')
}

export const generatedSections = { 'config-table': configTable, 'error-table': errorTable } as const

/** The README with every `<!-- name:start -->…<!-- name:end -->` section rendered afresh. */
export function renderReadme(readme: string): string {
  let out = readme
  for (const [name, render] of Object.entries(generatedSections)) {
    const start = `<!-- ${name}:start -->`
    const end = `<!-- ${name}:end -->`
    const from = out.indexOf(start)
    const to = out.indexOf(end)
    if (from < 0 || to < from) throw new Error(`README.md has no ${start} … ${end} section`)
    out = `${out.slice(0, from + start.length)}\n${render()}\n${out.slice(to)}`
  }
  return out
}

if (import.meta.main) {
  const readme = readFileSync(readmePath, 'utf8')
  writeFileSync(readmePath, renderReadme(readme))
  process.stdout.write('README.md tables updated\n')
}
