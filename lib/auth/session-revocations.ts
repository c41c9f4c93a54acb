// The session cache's ears: one connection of its own LISTENs for the trigger's notifications
// (migrations/1768000000000_session-notify.sql) and drops the named users' entries. The cache is on
// only while this connection is up: when it is lost, the cache goes off at once (every request reads
// the database, as without a cache) and a new connection is tried, sooner first, then every few
// seconds; once it LISTENs again the cache goes back on, empty, since what was said meanwhile is lost.
// Never on Lambda: a frozen execution environment hears nothing (docs/decisions/014-session-cache.md).
import type { Logger } from 'pino'
import type { Config } from '../platform/config.ts'
import type { Database } from '../platform/database.ts'
import { sessionCache } from './sessions.ts'

/** The trigger's channel; each payload is "<schema>:<user id>" or "<schema>:*". */
export const SESSION_CHANNEL = 'gateway_auth_sessions'
const FIRST_RETRY_MS = 100
const LAST_RETRY_MS = 5_000

export interface SessionRevocations {
  /** Closes the connection; the cache stays off. */
  stop(): Promise<void>
}

interface Listening {
  readonly done: (kill?: boolean) => void | Promise<void>
}

/** The user ids a notification names for `schema` ('*': all), or none when it is another schema's. */
export function usersNamed(payload: string, schema: string): string[] {
  const colon = payload.lastIndexOf(':')
  return payload.slice(0, colon) === schema ? [payload.slice(colon + 1)] : []
}

/** Starts listening; the cache goes on once the first LISTEN succeeds. */
export function listenForRevocations(
  runtime: { readonly db: Database; readonly config: Config; readonly log: Logger },
  cache: Pick<typeof sessionCache, 'switchOn' | 'switchOff' | 'forgetUsers'> = sessionCache,
): SessionRevocations {
  const { db, config, log } = runtime
  const maxEntries = config.session.cacheEntries
  if (config.platform === 'lambda' || maxEntries === 0) return { stop: async () => {} }
  let stopped = false
  let listening: Listening | undefined
  let retry: NodeJS.Timeout | undefined
  let delayMs = FIRST_RETRY_MS

  const retryLater = () => {
    if (stopped) return
    retry = setTimeout(connect, delayMs)
    retry.unref()
    delayMs = Math.min(delayMs * 2, LAST_RETRY_MS)
  }
  const lost = (error: unknown) => {
    if (!listening) return
    listening = undefined
    cache.switchOff()
    log.warn({ event: 'session_cache', state: 'off', err: error }, 'session cache off: its connection was lost')
    retryLater()
  }

  async function connect(): Promise<void> {
    let connection: Awaited<ReturnType<Database['connect']>> | undefined
    try {
      connection = await db.connect({ direct: true, onLost: (error) => lost(error) })
      const { schema } = await connection.one<{ schema: string }>('SELECT current_schema() AS schema')
      connection.client.on('notification', (message) => {
        if (message.channel === SESSION_CHANNEL) cache.forgetUsers(usersNamed(message.payload ?? '', schema))
      })
      connection.client.on('end', () => lost(new Error('connection ended')))
      await connection.none('LISTEN $1:name', [SESSION_CHANNEL])
      if (stopped) return void connection.done()
      listening = connection
      delayMs = FIRST_RETRY_MS
      cache.switchOn(maxEntries)
      log.info({ event: 'session_cache', state: 'on', maxEntries }, 'session cache on')
    } catch (error) {
      connection?.done()
      log.warn({ event: 'session_cache', state: 'off', err: error }, 'session cache off: cannot listen')
      retryLater()
    }
  }

  void connect()
  return {
    async stop() {
      stopped = true
      clearTimeout(retry)
      cache.switchOff()
      const closing = listening
      listening = undefined
      await closing?.done()
    },
  }
}
