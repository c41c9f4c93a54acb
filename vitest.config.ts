import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts'],
    globalSetup: ['tests/helpers/global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // bcrypt and the embedded server are CPU-bound; two cores want few parallel files
    maxWorkers: 2,
  },
})
