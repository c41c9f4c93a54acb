// The tests Stryker runs against each mutant (stryker.config.mjs, docs/testing.md "Mutation testing"):
// the in-process suites. Left out: the fuzzer and the OpenAPI conformance suite (long, and one
// load-flaky failure in Stryker's dry run stops the whole run), the browser, CLI and deployment
// suites (a child process never sees Stryker's active mutant). The same file is laid over the tree
// before the restructuring (f66e4e1) for the "before" score, so it names folders both trees have.
import { fileURLToPath } from 'node:url'
import { configDefaults, defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    root: fileURLToPath(new URL('../..', import.meta.url)),
    include: ['tests/{functions,http,lib,security,access}/**/*.test.ts'],
    // documentation.test.ts reads the source for the events it logs, which Stryker's instrumentation rewrites
    exclude: [...configDefaults.exclude, 'tests/security/web-frontend.test.ts', 'tests/security/documentation.test.ts'],
    globalSetup: ['tests/helpers/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    maxWorkers: 2,
  },
})
