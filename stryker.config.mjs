// `npm run mutation`: Stryker mutates the authentication core and the route modules and runs
// `npm test`'s own vitest suite against each mutant (docs/testing.md has the method and the scores).
// Not in CI. On two shared cores (load average 20–30 while measured) a run over all of lib/auth and
// functions/ (1,126 mutants) would take hours, and one flaky test in the dry run stops it. So the
// measured set is documented and fixed: the mutants are the four route modules whose tests the
// restructuring rewrote (login, logout, register, password); the test set is the in-process suites
// (tests/functions, tests/http, tests/security, tests/lib; vitest's related mode then keeps the files
// that import a mutated module). Left out: the fuzzer, the OpenAPI conformance suite and
// tests/security/web-frontend (long or load-sensitive: one failure in Stryker's dry run stops it). Both scores in docs/testing.md come from this file;
// widen `mutate` to 'lib/auth/**/*.ts' and 'functions/**/*.ts' on a quiet machine.
/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  testRunner: 'vitest',
  plugins: ['@stryker-mutator/vitest-runner'],
  mutate: ['functions/{login,logout,register,password}.ts'],
  // the in-process suites, in a vitest config of their own (the same for the before and after runs)
  // not `related`: vitest's related mode follows static imports only, and the route tables reach a
  // handler through the route table's dynamic import (as Lambda and the adapter do), so it dropped the
  // very tests that cover the route modules (their mutants "survived" untested); perTest coverage
  // already runs only the tests that executed a mutant
  vitest: { configFile: 'tests/mutation/vitest.config.ts', related: false },
  // each mutant runs only the tests that executed it in the dry run
  coverageAnalysis: 'perTest',
  // no type checker runs (vitest does not type-check), so nothing needs `// @ts-nocheck` prepended;
  // prepending it would change templates/static/webauthn.js, which a test keeps byte-equal to its package
  disableTypeChecks: false,
  // mutants on code that runs at import time (constants, schemas) would need the whole suite per mutant;
  // they are counted as ignored, in both runs alike
  ignoreStatic: true,
  concurrency: 1,
  timeoutMS: 20_000,
  dryRunTimeoutMinutes: 30,
  reporters: ['clear-text', 'progress-append-only', 'json'],
  jsonReporter: { fileName: 'reports/mutation/mutation.json' },
  // TypeScript 7 has no JavaScript API for Stryker's tsconfig rewriting, and this tsconfig needs none
  // (no extends, no references): point it at no file
  tsconfigFile: 'stryker-has-no-tsconfig.json',
  tempDirName: '.stryker-tmp',
  cleanTempDir: 'always',
}
