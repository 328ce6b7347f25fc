// `npm run build` emits dist/ with tsc, which copies no YAML: the nodes' contracts follow here, so
// that dist/runtime/contracts.ts finds dist/nodes/<node>/contract.yaml as src/ does.
import { cpSync, globSync } from 'node:fs'

for (const file of globSync('src/nodes/*/contract.yaml')) {
  cpSync(file, file.replace(/^src\//, 'dist/'))
  console.log(`copied ${file}`)
}
