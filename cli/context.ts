// What every admin command gets: the service's configuration (the same environment variables),
// the database, a clock and where its output goes. Logs go to stderr, so stdout stays data.
import { pino, type Logger } from 'pino'
import { loadConfig, type Config } from '#lib/platform/config.ts'
import type { Database } from '#lib/platform/database.ts'
import { createLogger } from '#lib/platform/log.ts'
import { openAdminDatabase, requireCurrentSchema } from './admin-database.ts'

export interface AdminContext {
  readonly config: Config
  readonly db: Database
  readonly log: Logger
  readonly now: Date
  /** One line of the command's result on stdout. */
  readonly out: (line: string) => void
}

/**
 * Runs `command` with a database, closing it after. `migrate` alone may create an embedded
 * cluster and works on an old schema; every other command needs the current one.
 */
export async function withDatabase(
  command: (ctx: AdminContext) => Promise<void>,
  { migrate = false } = {},
): Promise<void> {
  const config = loadConfig()
  // the service's LOG_LEVEL (info by default) would be chatter here: warnings and worse only
  const level = config.logLevel === 'info' ? 'warn' : config.logLevel
  const log = createLogger(level, pino.destination({ dest: 2, sync: true }))
  const database = await openAdminDatabase(config, log, { create: migrate })
  try {
    if (!migrate) await requireCurrentSchema(database.db)
    await command({ config, db: database.db, log, now: new Date(), out: (line) => process.stdout.write(`${line}\n`) })
  } finally {
    await database.close()
  }
}
