// npm run test:crash: the service SIGKILLed with requests in flight, on both databases (tests/crash).
// A few minutes, so outside `npm test`; .ci/run runs it after the main suite. One file at a time:
// it spawns and kills whole services.
import { configDefaults, defineConfig } from 'vitest/config'
import base from './vitest.config.ts'

export default defineConfig({
  ...base,
  test: {
    ...base.test,
    include: ['tests/crash/**/*.test.ts'],
    exclude: configDefaults.exclude,
    testTimeout: 300_000,
    maxWorkers: 1,
  },
})
