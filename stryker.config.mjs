// `npm run mutation`: Stryker mutates the authentication core and the route modules and runs
// `npm test`'s own vitest suite against each mutant (docs/testing.md has the method and the scores).
// Not in CI: on two cores it takes most of an hour.
/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  testRunner: 'vitest',
  plugins: ['@stryker-mutator/vitest-runner'],
  mutate: ['lib/auth/**/*.ts', 'functions/**/*.ts'],
  // each mutant runs only the tests that executed it in the dry run
  coverageAnalysis: 'perTest',
  // mutants on code that runs at import time (constants, schemas) would need the whole suite per mutant;
  // they are counted as ignored, in both runs alike
  ignoreStatic: true,
  concurrency: 2,
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
