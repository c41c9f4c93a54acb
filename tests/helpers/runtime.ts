// Starting the service's runtime for a test file: against the per-run server database or an
// embedded PostgreSQL in a fresh DATA_DIR. Low bcrypt cost keeps the suite quick on two cores.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { inject } from 'vitest'
import { loadConfig } from '#lib/config.ts'
import { startRuntime, stopRuntime, type Runtime } from '#lib/runtime.ts'

export type DatabaseKind = 'server' | 'embedded'

export const serverDatabaseUrl = () => inject('serverDatabaseUrl')

export interface TestRuntime {
  runtime: Runtime
  dataDir: string
  stop(options?: { keepDataDir?: boolean }): Promise<void>
}

/** Starts the process runtime with test settings; `env` overrides them. */
export async function startTestRuntime(kind: DatabaseKind, env: Record<string, string> = {}, dataDir?: string): Promise<TestRuntime> {
  const dir = dataDir ?? (await mkdtemp(path.join(tmpdir(), 'ga-')))
  const databaseUrl = kind === 'server' ? serverDatabaseUrl() : undefined
  if (kind === 'server' && !databaseUrl) throw new Error('TEST_DATABASE_URL is unset')
  const config = loadConfig({
    DATA_DIR: dir,
    BCRYPT_COST: '10',
    LOG_LEVEL: 'silent',
    ...(databaseUrl ? { DATABASE_URL: databaseUrl } : {}),
    ...env,
  })
  const runtime = await startRuntime(config)
  return {
    runtime,
    dataDir: dir,
    async stop({ keepDataDir = false } = {}) {
      await stopRuntime()
      if (!keepDataDir) await rm(dir, { recursive: true, force: true })
    },
  }
}

/** The database kinds available in this run: always embedded, the server when TEST_DATABASE_URL is set. */
export const databaseKinds = (): DatabaseKind[] => (serverDatabaseUrl() ? ['server', 'embedded'] : ['embedded'])
