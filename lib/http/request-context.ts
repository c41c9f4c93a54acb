// The request's context, built once as the chain's first own step: the runtime, the request's clock
// reading, who the client is, its cookies (parsed once), and the bcrypt pool and throttle bound to
// that client. Every later step and the handler read it here; none fetches the runtime itself.
import { randomUUID } from 'node:crypto'
import type { MiddlewareObj } from '@middy/core'
import type { Context } from 'aws-lambda'
import { parseCookie } from 'cookie'
import type { Logger } from 'pino'
import type { RouteEvent, RouteResult, PageName } from './event.ts'
import { identifyClient } from './client.ts'
import { mediaTypeOf, FORM_MEDIA_TYPE, JSON_MEDIA_TYPE } from './body.ts'
import { getRuntime, startedRuntime, type Runtime } from '../platform/runtime.ts'
import { throttleFor, type LoginAttempt } from '../auth/throttle.ts'
import { hashPoolFor } from '../auth/hash-pool.ts'
import type { VerifyContext } from '../auth/password.ts'

/** The throttle, counting for the client asking. */
export interface ClientThrottle {
  /** Counts an attempt for `username` from this client, or refuses it with 429 rate_limited. */
  startLoginAttempt(username: string): Promise<LoginAttempt>
  /** Counts a second-factor code for `username` from this client (counters of their own, same rules). */
  startSecondFactorAttempt(username: string): Promise<LoginAttempt>
  /** Counts a registration from this client, or refuses it with 429 rate_limited. */
  countRegistration(): Promise<void>
  /** Counts a restart of the packet forwarder (one a minute per device), or refuses it with 429. */
  countForwarderRestart(): Promise<{ giveBack(): Promise<void> }>
}

/** What a handler gets besides its event: the process's runtime, bound to this request. */
export interface HandlerContext extends Runtime {
  /** The request's clock reading (runtime.clock at arrival): every expiry rule takes it. */
  readonly now: Date
  readonly throttle: ClientThrottle
  /** bcrypt in the worker pool, at the configured cost, in this client's share (lib/auth/hash-pool.ts). */
  readonly hashing: VerifyContext
}

const contexts = new WeakMap<RouteEvent, HandlerContext>()

/** The context requestContext built for this event. */
export function contextOf(event: RouteEvent): HandlerContext {
  const context = contexts.get(event)
  if (!context) throw new Error('the request context is built by the first step of the chain')
  return context
}

/**
 * The context of one request. What only some routes use (the throttle, the bcrypt pool) is made on
 * first use, not for every request: most requests are authenticated reads that use neither.
 */
class RequestHandlerContext implements HandlerContext {
  readonly config: Runtime['config']
  readonly db: Runtime['db']
  readonly healthDb: Runtime['healthDb']
  readonly jwtSecret: string
  readonly log: Runtime['log']
  readonly accessRules: Runtime['accessRules']
  readonly clock: Runtime['clock']
  readonly now: Date
  readonly #event: RouteEvent
  #throttle: ClientThrottle | undefined
  #hashing: VerifyContext | undefined

  constructor(runtime: Runtime, event: RouteEvent) {
    this.config = runtime.config
    this.db = runtime.db
    this.healthDb = runtime.healthDb
    this.jwtSecret = runtime.jwtSecret
    this.log = runtime.log
    this.accessRules = runtime.accessRules
    this.clock = runtime.clock
    this.now = event.receivedAt
    this.#event = event
  }

  get throttle(): ClientThrottle {
    if (!this.#throttle) {
      const throttle = throttleFor(this)
      const client = this.#event.clientIp
      this.#throttle = {
        startLoginAttempt: (username) => throttle.startLoginAttempt(username, client),
        startSecondFactorAttempt: (username) => throttle.startSecondFactorAttempt(username, client),
        countRegistration: () => throttle.countRegistration(client),
        countForwarderRestart: () => throttle.countForwarderRestart(),
      }
    }
    return this.#throttle
  }

  get hashing(): VerifyContext {
    this.#hashing ??= {
      pool: hashPoolFor(this),
      cost: this.config.password.bcryptCost,
      client: this.#event.clientIp,
      log: this.#event.log,
    }
    return this.#hashing
  }
}

const requestLogs = new WeakMap<RouteEvent, Logger>()

/**
 * event.log: the process logger's child for this request, made when the request first logs (a
 * child logger serialises its bindings at once, and most requests log nothing). One accessor for
 * every event, so that a request that never logs allocates nothing for it.
 */
const REQUEST_LOG: PropertyDescriptor & ThisType<RouteEvent> = {
  configurable: true,
  enumerable: true,
  get() {
    let log = requestLogs.get(this)
    if (!log) {
      log = contextOf(this).log.child({
        requestId: this.requestId,
        method: this.requestContext.http.method,
        path: this.rawPath,
        clientIp: this.clientIp,
      })
      requestLogs.set(this, log)
    }
    return log
  },
  set(value: Logger) {
    requestLogs.set(this, value)
  },
}

/** Middy step: reads what every later step needs from the event and the runtime, once. */
export function requestContext(page: PageName | undefined): MiddlewareObj<RouteEvent, RouteResult, Error, Context> {
  return {
    before: async (request) => {
      const event = request.event
      const headers = (event.headers ??= {})
      event.mediaType = mediaTypeOf(headers['content-type'])
      // a JSON body is answered in JSON, a form in HTML; a GET by what Accept prefers
      const preferred = (request.context as { preferredMediaType?: string }).preferredMediaType
      event.wantsHtml =
        event.mediaType === JSON_MEDIA_TYPE
          ? false
          : event.mediaType === FORM_MEDIA_TYPE || preferred !== 'application/json'
      event.page = page
      event.requestId = event.requestContext?.requestId || randomUUID()
      event.cookieValues = parseCookie(event.cookies?.length ? event.cookies.join('; ') : (headers.cookie ?? ''))
      const runtime = startedRuntime() ?? (await getRuntime())
      event.receivedAt = runtime.clock()
      const client = identifyClient(
        { sourceIp: event.requestContext.http.sourceIp, apiId: event.requestContext.apiId, headers },
        runtime.config.trustProxy,
      )
      event.clientIp = client.ip
      event.secure = client.secure
      contexts.set(event, new RequestHandlerContext(runtime, event))
      Object.defineProperty(event, 'log', REQUEST_LOG)
    },
  }
}
