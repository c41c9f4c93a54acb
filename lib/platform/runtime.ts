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

/** The JWT secret, from the environment or DATA_DIR. */
async function loadSecret(config: Config, log: Logger): Promise<string> {
  // DATA_DIR holds secrets only when one of them is not configured otherwise
  if (!config.jwt.secret || !config.database.url) await secureDataDir(config.dataDir, log)
  return loadJwtSecret(config)
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
    // an embedded server starts only once the rules file is known to be good and DATA_DIR's modes are
    // right (its files go there); a server database's connection and migration check (network waits)
    // go on while the rules and the secret load
    if (!config.database.url) await rules
    const secret = loadSecret(config, log)
    if (!config.database.url) await secret
    const [accessRules, jwtSecret, opened] = await Promise.allSettled([rules, secret, openDatabase(config, log)])
    const failed = [accessRules, jwtSecret, opened].find((step) => step.status === 'rejected')
    if (failed) {
      // a bad rules file or secret stops the start: what was opened meanwhile is closed again
      if (opened.status === 'fulfilled') await opened.value.close()
      throw failed.reason
    }
    handle = (opened as PromiseFulfilledResult<DatabaseHandle>).value
    started = Object.freeze({
      config,
      db: handle.db,
      healthDb: handle.healthDb,
      jwtSecret: (jwtSecret as PromiseFulfilledResult<string>).value,
      log,
      accessRules: (accessRules as PromiseFulfilledResult<AccessRules>).value,
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
