// `npm run test:slow`: suites too slow for `npm test` (server starts, initdb, many processes),
// run by .ci/run after it. The rest of the settings are the default run's.
import { defineConfig } from 'vitest/config'
import base from './vitest.config.ts'

export default defineConfig({
  test: { ...base.test, include: ['tests/slow/**/*.test.ts'], exclude: ['**/node_modules/**'] },
})
