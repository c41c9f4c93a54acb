// What a handler needs beyond its event, made once per process: on Lambda at the first (cold)
// invocation, under Express before the port opens. Tests start it with their own Config.
import type { Logger } from 'pino'
import { loadConfig, type Config } from './config.ts'
import { openDatabase, type Database, type DatabaseHandle } from './database.ts'
import { secureDataDir } from './data-dir.ts'
import { loadJwtSecret } from './jwt-secret.ts'
import { createLogger } from './log.ts'
import type { AccessRules } from './access-rules.ts'

export interface Runtime {
  readonly config: Config
  readonly db: Database
  /** A connection of its own for /health, never waiting behind the requests' pool. */
  readonly healthDb: Database
  readonly jwtSecret: string
  readonly log: Logger
  /** ACCESS_RULES, read and checked at start (lib/platform/access-rules.ts). */
  readonly accessRules: AccessRules
  /** The service's clock: each request reads it once on arrival. Tests pass their own to move time. */
  readonly clock: () => Date
}

export interface RuntimeOptions {
  readonly clock?: () => Date
}

const systemClock = () => new Date()

let current: Promise<Runtime> | undefined
let started: Runtime | undefined
let handle: DatabaseHandle | undefined

/** ACCESS_RULES, read and checked (its module and YAML parser load only when it is set). */
async function loadRules(config: Config): Promise<AccessRules> {
  if (!config.frontDoor.accessRules) return { source: undefined, rules: [] }
  return (await import('./access-rules.ts')).loadAccessRules(config.frontDoor.accessRules)
}

/** The JWT secret and the database, migrated. */
async function openStores(config: Config, log: Logger): Promise<{ jwtSecret: string; handle: DatabaseHandle }> {
  const secret = (async () => {
    // DATA_DIR holds secrets only when one of them is not configured otherwise
    if (!config.jwt.secret || !config.database.url) await secureDataDir(config.dataDir, log)
    return loadJwtSecret(config)
  })()
  // the embedded server's files go in DATA_DIR, so it starts once DATA_DIR's modes are right; a server
  // database is connected to meanwhile
  if (!config.database.url) await secret
  const [jwtSecret, opened] = await Promise.allSettled([secret, openDatabase(config, log)])
  if (jwtSecret.status === 'rejected') {
    if (opened.status === 'fulfilled') await opened.value.close()
    throw jwtSecret.reason
  }
  if (opened.status === 'rejected') throw opened.reason
  return { jwtSecret: jwtSecret.value, handle: opened.value }
}

/** Starts the runtime for this process from `config` (the environment by default). */
export function startRuntime(
  config: Config = loadConfig(),
  log: Logger = createLogger(config.logLevel),
  { clock = systemClock }: RuntimeOptions = {},
): Promise<Runtime> {
  if (current) throw new Error('runtime already started')
  current = (async () => {
    const rules = loadRules(config)
    // an embedded server is started only once the rules file is known to be good; a server
    // database's connection and migration check (network waits) go on while the rules load
    if (!config.database.url) await rules
    const opening = openStores(config, log)
    const [accessRules, opened] = await Promise.allSettled([rules, opening])
    if (accessRules.status === 'rejected') {
      // a bad rules file stops the start: what was opened meanwhile is closed again
      if (opened.status === 'fulfilled') await opened.value.handle.close()
      throw accessRules.reason
    }
    if (opened.status === 'rejected') throw opened.reason
    const { jwtSecret } = opened.value
    handle = opened.value.handle
    started = Object.freeze({
      config,
      db: handle.db,
      healthDb: handle.healthDb,
      jwtSecret,
      log,
      accessRules: accessRules.value,
      clock,
    })
    return started
  })()
  // a failed start must not be cached: the next request tries again
  current.catch(() => {
    current = undefined
  })
  return current
}

/** The runtime, started from the environment on first use. */
export function getRuntime(): Promise<Runtime> {
  return current ?? startRuntime()
}

/** The runtime if it has started, without starting it (an error page must not retry a failed start). */
export function startedRuntime(): Runtime | undefined {
  return started
}

/** Closes the pool and stops an embedded server. Safe to call twice. */
export async function stopRuntime(): Promise<void> {
  const closing = handle
  current = undefined
  started = undefined
  handle = undefined
  await closing?.close()
}
