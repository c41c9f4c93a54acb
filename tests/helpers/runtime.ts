// Starting the service's runtime for a test file: against the per-run server database (in a
// schema of its own, so rows and throttling counters of one file never meet another's) or an
// embedded PostgreSQL in a fresh DATA_DIR. A fresh DATA_DIR starts as a copy of the run's
// template cluster (tests/helpers/global-setup.ts): an initdb and the migrations cost a second or
// two of CPU, a copy a tenth of that, and the suite starts a hundred and more runtimes.
//
// bcrypt runs at cost 4 here unless a test sets BCRYPT_COST: the same algorithm and code path,
// 2^4 rounds instead of 2^10, so a suite that hashes a thousand times stays quick on two cores.
// The service itself refuses a cost under 10 (tests/lib/config.test.ts); the test that measures
// the time an unknown user costs against a wrong password runs at the production cost.
import { execFile } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'
import { inject } from 'vitest'
import { loadConfig } from '#lib/platform/config.ts'
import { createLogger } from '#lib/platform/log.ts'
import { startRuntime, stopRuntime, type Runtime } from '#lib/platform/runtime.ts'
import { createServerSchema } from './service-process.ts'

export type DatabaseKind = 'server' | 'embedded'

export const serverDatabaseUrl = () => inject('serverDatabaseUrl')

export interface TestRuntime {
  runtime: Runtime
  dataDir: string
  /** The JSON log lines written so far (only with `captureLogs`). */
  logs(): Record<string, unknown>[]
  /** The raw log text written so far (only with `captureLogs`). */
  rawLogs(): string
  stop(options?: { keepDataDir?: boolean }): Promise<void>
}

export interface TestRuntimeOptions {
  /** Keep the service's log lines (at info level, the real logger and redaction) for assertions. */
  captureLogs?: boolean
  /** The service's clock (runtime.clock): a test moves time by moving it, instead of sleeping. */
  clock?: () => Date
}

// Tests register and sign in many times from one address; the registration, sign-in and bcrypt
// pool limits have their own tests (tests/security/throttling.test.ts, tests/http/flood.test.ts),
// which pass the production defaults explicitly.
const TEST_BCRYPT_COST = 4
// Registration is open: files register many accounts; tests/http/registration-policy.test.ts covers the others.
const TEST_DEFAULTS = {
  LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
  REGISTRATIONS_PER_HOUR: '100000',
  REGISTRATION: 'open',
  LOGIN_SUCCESSES_PER_MINUTE: '100000',
  HASH_PER_CLIENT: '1000',
}

/** Starts the process runtime with test settings; `env` overrides them. */
export async function startTestRuntime(
  kind: DatabaseKind,
  env: Record<string, string> = {},
  dataDir?: string,
  options: TestRuntimeOptions = {},
): Promise<TestRuntime> {
  const dir = dataDir ?? (await mkdtemp(path.join(tmpdir(), 'ga-')))
  const schema = kind === 'server' ? await createSchema() : undefined
  if (kind === 'embedded' && !dataDir && !env.DATA_DIR && !env.DATABASE_URL) await copyTemplate(dir)
  let text = ''
  const destination = { write: (chunk: string) => void (text += chunk) }
  const config = loadConfig({
    DATA_DIR: dir,
    ...TEST_DEFAULTS,
    ...(options.captureLogs ? { LOG_LEVEL: 'info' } : {}),
    ...(schema ? { DATABASE_URL: schema.url } : {}),
    ...env,
  })
  const testConfig = env.BCRYPT_COST
    ? config
    : { ...config, password: { ...config.password, bcryptCost: TEST_BCRYPT_COST } }
  const runtime = await startRuntime(
    testConfig,
    options.captureLogs ? createLogger(config.logLevel, destination) : undefined,
    options.clock ? { clock: options.clock } : {},
  )
  return {
    runtime,
    dataDir: dir,
    logs: () =>
      text
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line) as Record<string, unknown>),
    rawLogs: () => text,
    async stop({ keepDataDir = false } = {}) {
      await stopRuntime()
      await schema?.drop()
      if (!keepDataDir) await rm(dir, { recursive: true, force: true })
    },
  }
}

/** Copies the run's template cluster and its password file into `dir`, owners and modes kept. */
async function copyTemplate(dir: string) {
  await promisify(execFile)('cp', ['-a', `${inject('embeddedTemplate')}/.`, dir])
}

/** A fresh schema in the per-run server database, and a URL whose search_path puts us in it. */
function createSchema() {
  const runUrl = serverDatabaseUrl()
  if (!runUrl) throw new Error('TEST_DATABASE_URL is unset')
  return createServerSchema(runUrl, 'svc')
}

/** The database kinds available in this run: always embedded, the server when TEST_DATABASE_URL is set. */
export const databaseKinds = (): DatabaseKind[] => (serverDatabaseUrl() ? ['server', 'embedded'] : ['embedded'])
