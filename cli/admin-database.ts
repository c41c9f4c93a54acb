// The database an admin command works on: DATABASE_URL's server; else the embedded PostgreSQL in
// DATA_DIR, reached over the running service's socket when the service runs, or started for the
// command (and stopped after it) when it does not. Never a second server on one DATA_DIR.
import { execFile } from 'node:child_process'
import fs from 'node:fs/promises'
import path from 'node:path'
import { promisify } from 'node:util'
import type { Logger } from 'pino'
import type { Config } from '#lib/platform/config.ts'
import { connectDatabase, pendingMigrations, type Database } from '#lib/platform/database.ts'
import {
  EmbeddedPostgresError,
  findRunningEmbeddedPostgres,
  startEmbeddedPostgres,
} from '#lib/embedded-postgres/server.ts'
import { CliError, EXIT } from './exit-codes.ts'

const APPLICATION_NAME = 'gateway-auth-admin'

export interface AdminDatabase {
  readonly db: Database
  close(): Promise<void>
}

/** Opens the database; `create`: may initialise an embedded cluster that does not exist yet (migrate). */
export async function openAdminDatabase(config: Config, log: Logger, { create = false } = {}): Promise<AdminDatabase> {
  if (config.database.url)
    return pool(connectDatabase({ connectionString: config.database.url }, log, APPLICATION_NAME))
  const { dataDir } = config
  const running = await findRunningEmbeddedPostgres(dataDir)
  if (running) return pool(connectDatabase(running, log, APPLICATION_NAME))
  if (!create && !(await fs.stat(path.join(dataDir, 'postgres', 'PG_VERSION')).catch(() => null))) {
    throw new CliError(
      EXIT.unavailable,
      `no database in DATA_DIR ${dataDir}: set DATA_DIR (or DATABASE_URL) as the service has it, ` +
        'or create one with gateway-auth migrate',
    )
  }
  const startOptions = {
    dataDir,
    runAsUser: config.database.embeddedUser ?? (await clusterOwner(dataDir)),
    // its lines include the expected FATAL of connections ended by the stop; a failed start says why in its error
    log: (_level: 'info' | 'warn', message: string) => log.debug(message),
  }
  const server = await startEmbeddedPostgres(startOptions).catch(async (error: unknown) => {
    // the service started in the same moment and holds DATA_DIR now: use its server
    const late = error instanceof EmbeddedPostgresError ? await findRunningEmbeddedPostgres(dataDir) : null
    if (!late) throw error
    return { connection: late, stop: async () => {} }
  })
  const db = connectDatabase(server.connection, log, APPLICATION_NAME)
  return {
    db,
    async close() {
      await db.$pool.end()
      // a connection still closing can get 57P01 from the stopping server: expected, not news
      db.$pool.removeAllListeners('error').on('error', () => {})
      await server.stop()
    },
  }
}

const pool = (db: Database): AdminDatabase => ({ db, close: () => db.$pool.end() })

/** Refuses to work on a schema older than this code: `gateway-auth migrate` brings it up to date. */
export async function requireCurrentSchema(db: Database): Promise<void> {
  const pending = await pendingMigrations(db)
  if (pending.length) {
    throw new CliError(
      EXIT.unavailable,
      `the database schema is behind this gateway-auth (${plural(pending.length, 'migration')} pending): ` +
        'run gateway-auth migrate',
    )
  }
}

/**
 * Run as root with the service stopped, the server must run as the cluster's owner (the
 * container's `node`), not as lib/embedded-postgres/server.ts's default user, which would take the
 * cluster over and lock the service out of it.
 */
async function clusterOwner(dataDir: string): Promise<string | undefined> {
  if (process.getuid?.() !== 0) return undefined
  const stat = await fs.stat(path.join(dataDir, 'postgres')).catch(() => null)
  if (!stat || stat.uid === 0) return undefined
  const { stdout } = await promisify(execFile)('id', ['-nu', String(stat.uid)]).catch(() => ({ stdout: '' }))
  return stdout.trim() || undefined
}

const plural = (n: number, noun: string) => `${n} ${noun}${n === 1 ? '' : 's'}`
