// Every suite of the project, one project each. `npm test` runs `main`; the others are slower and
// have their own npm scripts, which .ci/run runs after it:
//   main     npm test            handlers, HTTP, security, fuzzing, docs, OpenAPI, browser flows
//   browser  npm run test:browser  every page in Chromium with axe, both colour schemes (~1 min)
//   slow     npm run test:slow     server starts, initdb, many processes
//   crash    npm run test:crash    the service SIGKILLed with requests in flight (a few minutes)
//   deploy   npm run test:image | test:lambda | test:infra | test:arm64   (one file each)
import { statfsSync } from 'node:fs'
import { configDefaults, defineConfig } from 'vitest/config'

// Scratch files in memory when there is room: the suite makes a DATA_DIR (a 40 MB PostgreSQL
// cluster) for each of its hundred and more service starts, and writing those to a disk costs
// about ten times the CPU (kernel time) of writing them to tmpfs. Every test and every process it
// spawns reads TMPDIR through os.tmpdir(); a small /dev/shm (Docker's 64 MB) is left alone, and so
// are the deployment suites, whose work folders (an image's node_modules, an arm64 sysroot) are big.
const RAM_SCRATCH = '/dev/shm'
const MIN_FREE_BYTES = 1024 ** 3
function scratchEnv(): { TMPDIR?: string } {
  if (process.env.TMPDIR) return {}
  try {
    const { bavail, bsize } = statfsSync(RAM_SCRATCH)
    return bavail * bsize >= MIN_FREE_BYTES ? { TMPDIR: RAM_SCRATCH } : {}
  } catch {
    return {} // no /dev/shm: the system's temporary directory
  }
}

const shared = {
  globalSetup: ['tests/helpers/global-setup.ts'],
  testTimeout: 30_000,
  hookTimeout: 60_000,
  env: scratchEnv(),
}

export default defineConfig({
  test: {
    // most of a file's time is waiting (PostgreSQL starting, processes, sockets); bcrypt runs at a
    // low cost in tests (tests/helpers/runtime.ts): four files at a time keep two cores busy. The
    // crash and deployment scripts pass --maxWorkers=1: they spawn and kill whole services.
    maxWorkers: 4,
    projects: [
      {
        test: {
          ...shared,
          name: 'main',
          include: ['tests/**/*.test.ts'],
          exclude: [
            ...configDefaults.exclude,
            'tests/browser-pages/**',
            'tests/slow/**',
            'tests/deploy/**',
            'tests/crash/**',
          ],
        },
      },
      { test: { ...shared, name: 'browser', include: ['tests/browser-pages/**/*.test.ts'], testTimeout: 180_000 } },
      { test: { ...shared, name: 'slow', include: ['tests/slow/**/*.test.ts'] } },
      { test: { ...shared, name: 'crash', include: ['tests/crash/**/*.test.ts'], testTimeout: 300_000 } },
      {
        test: {
          ...shared,
          env: {},
          name: 'deploy',
          // the Lambda bundles are imported by Node itself, as Lambda does, not transformed by Vite
          server: { deps: { external: [/\/dist\/lambda\//] } },
          include: ['tests/deploy/**/*.test.ts'],
          testTimeout: 120_000,
          hookTimeout: 600_000,
        },
      },
    ],
  },
})
