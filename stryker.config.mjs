// `npm run mutation`: Stryker mutates the authentication core and the route modules and runs
// `npm test`'s own vitest suite against each mutant (docs/testing.md has the method and the scores).
// Not in CI. On two shared cores a run over all of lib/auth and functions/ (1,126 mutants) would take
// about two hours, so the measured set is a documented sample: every route module, and the
// authentication core the routes stand on (sessions, tokens, passwords, users, sign-ins, input
// validation). Left out: the CLI's accounts export, the throttle, the bcrypt pool and its worker,
// the registration policy and the common-password list (their own tests under tests/lib are
// untouched by the suite's restructuring). Both scores in docs/testing.md use this very file.
/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  testRunner: 'vitest',
  plugins: ['@stryker-mutator/vitest-runner'],
  mutate: [
    'functions/**/*.ts',
    'lib/auth/{sessions,tokens,password,users,sign-ins,validation}.ts',
  ],
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
