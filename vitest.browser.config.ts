// npm run test:browser: every page in Chromium (axe in both colour schemes, with and without
// JavaScript). About a minute, so outside `npm test`; .ci/run runs it after the main suite.
import { configDefaults, defineConfig } from 'vitest/config'
import base from './vitest.config.ts'

export default defineConfig({
  ...base,
  test: {
    ...base.test,
    include: ['tests/browser-pages/**/*.test.ts'],
    exclude: configDefaults.exclude,
    testTimeout: 180_000,
  },
})
