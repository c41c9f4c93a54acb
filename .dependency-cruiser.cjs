// The architecture, enforced: lib/ is layered and every import points down.
//   functions/, adapters/, cli/, lambda/  →  lib/http  →  lib/auth, lib/gateway  →  lib/platform
//   →  lib/embedded-postgres
//   lib/problem.ts (the contract's error codes) is a leaf every layer may use. lambda/ (the Lambda
//   jobs and packaging) reads the route table and lib/, never a handler; infra/ (the CDK app) knows
//   the functions only through lambda/functions.ts, never the service's code.
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
      name: 'embedded-postgres-through-its-entry',
      comment: 'lib/embedded-postgres is a package (its package.json, README.md): outside it, only server.ts',
      severity: 'error',
      from: { pathNot: layer('embedded-postgres') },
      to: { path: layer('embedded-postgres'), pathNot: '^lib/embedded-postgres/server\\.ts$' },
    },
    {
      name: 'platform-imports-down-only',
      severity: 'error',
      from: { path: layer('platform') },
      to: { path: [layer('auth'), layer('http'), layer('gateway'), '^functions/', '^adapters/'] },
    },
    {
      name: 'gateway-card-reads-the-platform-only',
      comment: 'lib/gateway: the card of the dashboard (facts, JSON, view); it knows no account or request',
      severity: 'error',
      from: { path: layer('gateway') },
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
      to: { path: ['^functions/', '^adapters/', '^cli/', '^lambda/', '^infra/'] },
    },
    {
      name: 'a-handler-stands-alone',
      comment: 'each function is its own Lambda bundle: it shares lib/, never another handler',
      severity: 'error',
      from: { path: '^functions/([^/]+)\\.ts$' },
      to: { path: '^functions/', pathNot: '^functions/$1\\.ts$' },
    },
    {
      name: 'the-service-never-imports-its-deployment',
      severity: 'error',
      from: { path: '^(functions|adapters|cli)/' },
      to: { path: ['^lambda/', '^infra/'] },
    },
    {
      name: 'lambda-jobs-import-no-handler',
      comment: 'lambda/ bundles the handlers by path (lambda/package.ts); its own code reads only lib/',
      severity: 'error',
      from: { path: '^lambda/' },
      to: { path: ['^functions/', '^adapters/', '^cli/', '^infra/'] },
    },
    {
      name: 'infra-knows-functions-through-lambda-only',
      severity: 'error',
      from: { path: '^infra/' },
      to: { path: ['^lib/', '^functions/', '^adapters/', '^cli/'] },
    },
    {
      name: 'no-test-code-in-the-product',
      severity: 'error',
      from: { path: '^(lib|functions|adapters|cli|lambda|infra)/' },
      to: { path: '^tests/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(node_modules|dist|infra/node_modules|infra/cdk\\.out)/' },
    parser: 'swc',
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { conditionNames: ['import', 'node', 'default'] },
  },
}
