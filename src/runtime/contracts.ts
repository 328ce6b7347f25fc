import { readFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseContract } from '../core/contracts/parse.ts'
import type { NodeContract } from '../core/contracts/schema.ts'
import { ContractError } from '../core/errors.ts'
import type { NodeName } from './config/keys.ts'

/** Where each node's own contract lives: `src/nodes/<node>/contract.yaml`. */
const builtInDir = fileURLToPath(new URL('../nodes/', import.meta.url))

/**
 * A node's contract: `<contractDir>/<node>/contract.yaml` when a contract dir is configured and has
 * one (operators tune steps, timeouts, retries and windows there without touching code), else the
 * node's own. Throws ContractError naming the file and the field.
 */
export function loadNodeContract(node: NodeName, contractDir?: string): NodeContract {
  const candidates = [
    ...(contractDir ? [join(contractDir, node, 'contract.yaml')] : []),
    join(builtInDir, node, 'contract.yaml'),
  ]
  for (const [i, file] of candidates.entries()) {
    let text: string
    try {
      text = readFileSync(file, 'utf8')
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code
      // an override dir need not override every node
      if (code === 'ENOENT' && i < candidates.length - 1) continue
      throw new ContractError(shown(file), [{ field: '', message: `cannot be read (${code ?? err})` }], {
        cause: err,
      })
    }
    return parseContract(text, shown(file))
  }
  throw new Error('unreachable: the built-in contract is always a candidate')
}

/** Paths in messages as the user would type them: relative to the working directory when inside it. */
function shown(file: string): string {
  const rel = relative(process.cwd(), file)
  return rel.startsWith('..') ? file : rel
}
