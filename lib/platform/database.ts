// Data access: pg-promise on PostgreSQL, always. DATABASE_URL names a server; unset, the service
// runs an embedded PostgreSQL in DATA_DIR (lib/embedded-postgres/server.ts). Either way the schema is
// brought up to date by versioned migrations (node-pg-migrate, under its advisory lock) before
// the first request, so two instances starting at once cannot both migrate.
import { readdir } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import pgPromise, { type IDatabase, type ITask } from 'pg-promise'
import type { Logger } from 'pino'
import type { Config } from './config.ts'
import type { EmbeddedPostgres } from '../embedded-postgres/server.ts'
import { transactionEnded } from './after-commit.ts'

export type Database = IDatabase<object>
/** A database handle or a transaction: data functions take either as their first argument. */
export type Queryable = Database | ITask<object>

const MIGRATIONS_DIR = fileURLToPath(new URL('../../migrations', import.meta.url))

// One pg-promise instance per process (it warns on duplicates); timestamps come back as Date.
// `transact` runs the work queued with afterCommit (lib/platform/after-commit.ts).
const pgp = pgPromise({ capSQL: true, transact: (event) => transactionEnded(event.ctx) })

/** How long /health waits for the database before calling it unavailable. */
export const HEALTH_TIMEOUT_MS = 2_000

export interface DatabaseHandle {
  readonly db: Database
  /** One connection for /health alone: its probe never queues behind the requests' pool. */
  readonly healthDb: Database
  readonly embedded: EmbeddedPostgres | undefined
  close(): Promise<void>
}

/** Connects to (or starts) the database and applies pending migrations. */
export async function openDatabase(config: Config, log: Logger): Promise<DatabaseHandle> {
  // imported only when there is one to start: with DATABASE_URL the start skips its modules
  const embedded = config.database.url
    ? undefined
    : await (await import('../embedded-postgres/server.ts')).startEmbeddedPostgres({
        dataDir: config.dataDir,
        runAsUser: config.database.embeddedUser,
        // the server's routine chatter (checkpoints, startup) is debug; its warnings stay warnings
        log: (level, message) => log[level === 'warn' ? 'warn' : 'debug']({ component: 'embedded-postgres' }, message),
      })
  const connection = embedded ? embedded.connection : { connectionString: config.database.url }
  const db = connectDatabase(connection, log, 'gateway-auth', config.database.poolMax)
  const healthDb = pgp({
    ...connection,
    max: 1,
    connectionTimeoutMillis: HEALTH_TIMEOUT_MS,
    query_timeout: HEALTH_TIMEOUT_MS,
    application_name: 'gateway-auth-health',
  })
  healthDb.$pool.on('error', (error: Error) => log.warn({ err: error }, 'database connection lost'))
  // the probe's connection opens while the migrations are checked, so the first /health (what a
  // supervisor asks as soon as the port is open) does not wait for one; a failure here is the
  // probe's to report
  const probeConnection = healthDb.connect().then(
    (connection) => connection.done(),
    () => {},
  )
  const endPools = () => probeConnection.then(() => Promise.all([db.$pool.end(), healthDb.$pool.end()]))
  try {
    // node-pg-migrate is loaded only when there is something to apply: a usual start skips it
    if (config.database.migrateOnStart && (await pendingMigrations(db)).length) await migrate(db, log)
  } catch (error) {
    await endPools()
    await embedded?.stop()
    throw error
  }
  return {
    db,
    healthDb,
    embedded,
    async close() {
      await endPools()
      await embedded?.stop()
    },
  }
}

/** A pool on `connection` with the service's settings (the admin CLI makes its own the same way). */
export function connectDatabase(connection: object, log: Logger, applicationName = 'gateway-auth', max = 10): Database {
  const db = pgp({
    ...connection,
    max,
    connectionTimeoutMillis: 5_000,
    // a stuck query must not hold a login open forever
    query_timeout: 15_000,
    application_name: applicationName,
  })
  // pool errors (a server restart, 57P01) surface on the next query; they must not crash Node
  db.$pool.on('error', (error: Error) => log.warn({ err: error }, 'database connection lost'))
  return db
}

/** Names of the migrations in migrations/ that this database has not applied yet. */
export async function pendingMigrations(db: Queryable): Promise<string[]> {
  const files = (await readdir(MIGRATIONS_DIR)).filter((file) => file.endsWith('.sql')).map((file) => file.slice(0, -4))
  // the table beside the others, in the first schema of the search_path (see migrate())
  const { present } = await db.one<{ present: boolean }>(`SELECT to_regclass('pgmigrations') IS NOT NULL AS present`)
  const applied = present ? await db.map('SELECT name FROM pgmigrations', [], (row: { name: string }) => row.name) : []
  return files.filter((name) => !applied.includes(name)).sort()
}

/** Applies pending migrations under node-pg-migrate's advisory lock; returns the names applied. */
export async function migrate(db: Database, log: Logger): Promise<string[]> {
  // loaded when used: a Lambda route never migrates, and its bundle leaves this (~300 KB) unread
  const { runner } = await import('node-pg-migrate')
  const connection = await db.connect()
  try {
    // the migrations table lives beside the tables, in the first schema of the search_path (which
    // DATABASE_URL may set: ?options=-c%20search_path%3Dauth); node-pg-migrate would put it in public
    const { schema } = await connection.one<{ schema: string | null }>('SELECT current_schema() AS schema')
    const applied = await runner({
      dbClient: connection.client,
      dir: MIGRATIONS_DIR,
      direction: 'up',
      migrationsTable: 'pgmigrations',
      migrationsSchema: schema ?? 'public',
      checkOrder: true,
      // a second instance starting at the same moment waits for the first, then finds nothing to do
      advisoryLockMode: 'wait',
      log: () => {},
    })
    if (applied.length) log.info({ migrations: applied.map((m) => m.name) }, 'database migrated')
    return applied.map((m) => m.name)
  } finally {
    connection.done()
  }
}
