import { defineConfig } from 'vitest/config'

// The slow deployment suites (image, Lambda bundles, CDK template, arm64): each has its own npm
// script and runs from .ci/run, never in `npm test`.
export default defineConfig({
  test: {
    include: ['tests/deploy/**/*.test.ts'],
    globalSetup: ['tests/helpers/global-setup.ts'],
    testTimeout: 120_000,
    hookTimeout: 600_000,
    maxWorkers: 1,
    // the Lambda bundles are imported by Node itself, as Lambda does, not transformed by Vite
    server: { deps: { external: [/\/dist\/lambda\//] } },
  },
})
