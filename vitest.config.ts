import { configDefaults, defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts'],
    // every page in Chromium with axe: `npm run test:browser` (vitest.browser.config.ts); slow
    // suites: `npm run test:slow` (vitest.slow.config.ts); the deployment suites:
    // vitest.deploy.config.ts, their own npm scripts; the crash test: `npm run test:crash`
    exclude: [
      ...configDefaults.exclude,
      'tests/browser-pages/**',
      'tests/slow/**',
      'tests/deploy/**',
      'tests/crash/**',
    ],
    globalSetup: ['tests/helpers/global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // most of a file's time is waiting (PostgreSQL starting, processes, sockets); bcrypt runs at a
    // low cost in tests (tests/helpers/runtime.ts): four files at a time keep two cores busy
    maxWorkers: 4,
  },
})
