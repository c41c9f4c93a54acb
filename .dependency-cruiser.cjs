// The architecture, enforced: lib/ is layered and every import points down.
//   functions/, adapters/  →  lib/http  →  lib/auth  →  lib/platform  →  lib/embedded-postgres
//   lib/problem.ts (the contract's error codes) is a leaf every layer may use.
const layer = (name) => `^lib/${name}/`
module.exports = {
  forbidden: [
    { name: 'no-cycles', severity: 'error', from: {}, to: { circular: true } },
    {
      name: 'problem-is-a-leaf',
      severity: 'error',
      from: { path: '^lib/problem\\.ts$' },
      to: { path: '^(lib|functions|adapters)/' },
    },
    {
      name: 'embedded-postgres-is-a-leaf',
      severity: 'error',
      from: { path: layer('embedded-postgres') },
      to: { path: '^(lib|functions|adapters)/', pathNot: layer('embedded-postgres') },
    },
    {
      name: 'platform-imports-down-only',
      severity: 'error',
      from: { path: layer('platform') },
      to: { path: [layer('auth'), layer('http'), '^functions/', '^adapters/'] },
    },
    {
      name: 'auth-imports-down-only',
      severity: 'error',
      from: { path: layer('auth') },
      to: { path: [layer('http'), '^functions/', '^adapters/'] },
    },
    {
      name: 'lib-never-imports-routes-or-adapters',
      severity: 'error',
      from: { path: '^lib/' },
      to: { path: ['^functions/', '^adapters/', '^cli/'] },
    },
    {
      name: 'a-handler-stands-alone',
      comment: 'each function is its own Lambda bundle: it shares lib/, never another handler',
      severity: 'error',
      from: { path: '^functions/' },
      to: { path: '^functions/', pathNot: '^functions/$1' },
    },
    {
      name: 'no-test-code-in-the-product',
      severity: 'error',
      from: { path: '^(lib|functions|adapters)/' },
      to: { path: '^tests/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(node_modules|dist|infra)/' },
    parser: 'swc',
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { conditionNames: ['import', 'node', 'default'] },
  },
}
