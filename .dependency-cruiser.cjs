// The dependency rule of DESIGN.md section 3, checked by `npm run check`.
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'core-is-pure',
      comment:
        'core imports nothing of ours but core, and no framework, driver or broker client (pure parsers and hashing are fine: typebox, yaml, BLAKE3)',
      severity: 'error',
      from: { path: '^src/core/' },
      to: {
        pathNot: ['^src/core/', '^node_modules/(@napi-rs/blake-hash|hash-wasm|typebox|yaml)/'],
        dependencyTypesNot: ['core'],
      },
    },
    {
      name: 'core-no-node-io',
      comment: 'core does no I/O: no fs, net, http, child_process',
      severity: 'error',
      from: { path: '^src/core/' },
      to: {
        dependencyTypes: ['core'],
        path: '^(node:)?(fs|fs/promises|net|http|https|child_process|dgram)$',
      },
    },
    {
      name: 'ports-see-core-only',
      severity: 'error',
      from: { path: '^src/ports/' },
      to: { path: '^src/', pathNot: '^src/(core|ports)/' },
    },
    {
      name: 'adapters-see-core-and-ports',
      severity: 'error',
      from: { path: '^src/adapters/' },
      to: { path: '^src/(nodes|runtime|cli|codegen)/' },
    },
    {
      name: 'nodes-never-see-adapters',
      severity: 'error',
      from: { path: '^src/nodes/' },
      to: { path: '^src/(adapters|runtime|cli|codegen)/' },
    },
    {
      name: 'nodes-are-independent',
      severity: 'error',
      from: { path: '^src/nodes/([^/]+)/' },
      to: { path: '^src/nodes/', pathNot: '^src/nodes/$1/' },
    },
    {
      name: 'runtime-not-cli',
      severity: 'error',
      from: { path: '^src/runtime/' },
      to: { path: '^src/cli/' },
    },
    { name: 'no-circular', severity: 'error', from: {}, to: { circular: true } },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    // a worktree's node_modules may be a symlink to the main checkout's: keep the paths the rules name
    preserveSymlinks: true,
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default'],
    },
  },
}
