// route(): every handler is the same Middy chain, written once here in the order it runs.
//   before: headers → negotiation → request context → host check → cross-origin guard → admit body →
//           JSON parser → form parser → object body → authentication
//   after / onError (reverse): problem responder (registered last, so it answers first) →
//   security headers → cache policy.
// Middy's own middlewares do the parsing, negotiation and security headers; this file only
// configures them and adds the contract's rules they do not know (16 KiB, 415, arrays, CSRF).
import { randomUUID } from 'node:crypto'
import middy, { type MiddlewareObj } from '@middy/core'
import httpHeaderNormalizer from '@middy/http-header-normalizer'
import httpContentNegotiation from '@middy/http-content-negotiation'
import httpJsonBodyParser from '@middy/http-json-body-parser'
import httpUrlencodeBodyParser from '@middy/http-urlencode-body-parser'
import httpSecurityHeaders from '@middy/http-security-headers'
import type { Context } from 'aws-lambda'
import type { AuthenticatedEvent, RouteEvent, RouteResult, PageName } from './event.ts'
import { problemResponder } from './problem-response.ts'
import { identifyClient } from './client.ts'
import { authenticate } from './authenticate.ts'
import { hasSessionCookie } from './session-cookie.ts'
import { admitBody, requireObjectBody, mediaTypeOf, FORM_MEDIA_TYPE, JSON_MEDIA_TYPE } from './body.ts'
import { getRuntime, type Runtime } from '../platform/runtime.ts'
import { throttleFor, type Throttle } from '../auth/throttle.ts'
import { hashPoolFor, type HashPool } from '../auth/hash-pool.ts'
import { Problem } from '../problem.ts'
import { checkHost } from './host-check.ts'

export type { AuthenticatedEvent, RouteEvent, RouteResult } from './event.ts'
export { MAX_BODY_BYTES } from './body.ts'

/** What a handler gets besides its event: the process's runtime and the request's clock. */
export interface HandlerContext extends Runtime {
  readonly throttle: Throttle
  /** The bcrypt worker pool (lib/auth/hash-pool.ts). */
  readonly hashPool: HashPool
  /** The request's clock: every expiry rule takes it as an argument. */
  readonly now: Date
}
export type RouteHandler<E extends RouteEvent = RouteEvent> = (event: E, ctx: HandlerContext) => Promise<RouteResult>

export interface RouteOptions {
  /** Page an HTML error re-renders (keeping what was typed). */
  page?: PageName
  /** 'required': no valid session → unauthorized/session_expired. 'optional': event.auth may be unset. */
  auth?: 'required' | 'optional'
  /**
   * The proxy's question (forward-auth): the session cookie before a bearer token (the Authorization
   * header is the app's), and only who it is, without the live-sessions list the dashboard shows.
   */
  forwardAuth?: boolean
}

// Forms post over plain HTTP on a gateway's LAN: no upgrade-insecure-requests, no sandbox, and
// form-action 'self'. Referrer-Policy same-origin keeps Origin on our own form posts (no-referrer
// makes browsers send "Origin: null"). HSTS is ignored by browsers over plain HTTP (RFC 6797 §8.1).
// the middleware drops a directive whose value is undefined (its types only admit strings)
const OFF = undefined as unknown as string
const securityHeaders = httpSecurityHeaders({
  contentSecurityPolicy: {
    'default-src': "'none'",
    'style-src': "'self'",
    'img-src': "'self' data:",
    // the one optional page script, /static/app.js: no inline code, no eval, nothing from elsewhere;
    // nosniff keeps any other same-origin response (JSON, CSS) from running as a script
    'script-src': "'self'",
    'object-src': "'none'",
    'base-uri': "'none'",
    'form-action': "'self'",
    'frame-ancestors': "'none'",
    // the defaults' sandbox (which blocks forms), upgrade-insecure-requests and report-to are
    // switched off by overriding them with nothing
    'report-to': OFF,
    sandbox: OFF,
    'upgrade-insecure-requests': OFF,
  },
  referrerPolicy: { policy: 'same-origin' },
  strictTransportSecurity: { maxAge: 365 * 24 * 3600, includeSubDomains: false, preload: false },
  reportTo: false,
})

/** Wraps a route function in the shared Middy chain; with `auth: 'required'` the handler sees event.auth set. */
export function route(
  fn: RouteHandler<AuthenticatedEvent>,
  options: RouteOptions & { auth: 'required' },
): ReturnType<typeof chain>
export function route(fn: RouteHandler, options?: RouteOptions): ReturnType<typeof chain>
export function route(fn: RouteHandler<never>, options: RouteOptions = {}) {
  return chain(fn as RouteHandler, options)
}

// the parsers skip a body whose (normalised) Content-Type is not theirs: admitBody has already
// refused every other type
const jsonParser = httpJsonBodyParser({ disableContentTypeError: true })
const formParser = httpUrlencodeBodyParser({ disableContentTypeError: true })

function chain(fn: RouteHandler, options: RouteOptions) {
  return middy<RouteEvent, RouteResult, Error, Context>()
    .use(httpHeaderNormalizer())
    .use(
      httpContentNegotiation({
        parseCharsets: false,
        parseEncodings: false,
        parseLanguages: false,
        availableMediaTypes: ['text/html', 'application/json'],
        failOnMismatch: false,
      }),
    )
    .use(requestContext(options))
    .use(checkHost())
    .use(rejectCrossOrigin())
    .use(admitBody())
    .use(jsonParser)
    .use(formParser)
    .use(requireObjectBody())
    .use(authenticate(options.auth, { forwardAuth: options.forwardAuth }))
    .use(noStoreByDefault())
    .use(securityHeaders)
    .use(problemResponder())
    .handler(async (event) => {
      const runtime = await getRuntime()
      const services = { throttle: throttleFor(runtime), hashPool: hashPoolFor(runtime) }
      return fn(event, { ...runtime, ...services, now: event.receivedAt })
    })
}

function requestContext(options: RouteOptions): MiddlewareObj<RouteEvent, RouteResult, Error, Context> {
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
      event.page = options.page
      event.receivedAt = new Date()
      event.requestId = event.requestContext?.requestId || randomUUID()
      const runtime = await getRuntime()
      const client = identifyClient(
        { sourceIp: event.requestContext.http.sourceIp, apiId: event.requestContext.apiId, headers },
        runtime.config.trustProxy,
      )
      event.clientIp = client.ip
      event.secure = client.secure
      event.log = runtime.log.child({
        requestId: event.requestId,
        method: event.requestContext.http.method,
        path: event.rawPath,
        clientIp: client.ip,
      })
    },
  }
}

/**
 * CSRF: a POST that carries a session cookie, or is anything but JSON (a form can be posted from
 * any site without a preflight), must come from our own origin.
 */
function rejectCrossOrigin(): MiddlewareObj<RouteEvent, RouteResult, Error, Context> {
  return {
    before: (request) => {
      const event = request.event
      if (event.requestContext.http.method !== 'POST') return
      const headers = event.headers
      if (!hasSessionCookie(event) && event.mediaType === JSON_MEDIA_TYPE) return
      const origin = headers.origin
      const ownOrigin = `${event.secure ? 'https' : 'http'}://${headers.host ?? event.requestContext.domainName}`
      if ((origin !== undefined && origin !== ownOrigin) || headers['sec-fetch-site'] === 'cross-site') {
        throw new Problem('cross_origin_rejected', { detail: 'This request must come from the service’s own pages.' })
      }
    },
  }
}

/** Account pages and tokens must never sit in a shared cache; static assets opt out. */
function noStoreByDefault(): MiddlewareObj<RouteEvent, RouteResult, Error, Context> {
  const apply = (request: { response?: RouteResult | null }) => {
    const response = request.response
    if (!response) return
    response.headers ??= {}
    response.headers['cache-control'] ??= 'no-store'
  }
  return { after: apply, onError: apply }
}
