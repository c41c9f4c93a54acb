// route(): every handler is the same Middy chain, written once here in the order it runs.
//   before: headers → negotiation → request context → cross-origin guard → body → authentication
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
import type { RouteEvent, RouteResult, PageName } from './http-types.ts'
import { Problem, invalidFields, problemResponder } from './problem.ts'
import { getRuntime, type Runtime } from './runtime.ts'
import { identifyClient } from './client.ts'
import { authenticate } from './authenticate.ts'
import { hasSessionCookie } from './session-cookie.ts'

export type { RouteEvent, RouteResult } from './http-types.ts'

export const MAX_BODY_BYTES = 16 * 1024

export interface HandlerContext extends Runtime {
  /** The request's clock: every expiry rule takes it as an argument. */
  readonly now: Date
}
export type RouteHandler = (event: RouteEvent, ctx: HandlerContext) => Promise<RouteResult>

export interface RouteOptions {
  /** Page an HTML error re-renders (keeping what was typed). */
  page?: PageName
  /** 'required': no valid session → unauthorized/session_expired. 'optional': event.auth may be unset. */
  auth?: 'required' | 'optional'
}

const JSON_TYPE = /^application\/(?:[\w.+-]+\+)?json\s*(?:;|$)/i
const FORM_TYPE = /^application\/x-www-form-urlencoded\s*(?:;|$)/i

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
    'script-src': "'none'",
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

/** Wraps a route function in the shared Middy chain. */
export function route(fn: RouteHandler, options: RouteOptions = {}) {
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
    .use(rejectCrossOrigin())
    .use(parseBody())
    .use(authenticate(options.auth))
    .use(noStoreByDefault())
    .use(securityHeaders)
    .use(problemResponder())
    .handler(async (event) => fn(event, { ...event.runtime, now: event.receivedAt }))
}

function requestContext(options: RouteOptions): MiddlewareObj<RouteEvent, RouteResult, Error, Context> {
  return {
    before: async (request) => {
      const event = request.event
      const headers = (event.headers ??= {})
      const contentType = headers['content-type'] ?? ''
      // a JSON body is answered in JSON, a form in HTML; a GET by what Accept prefers
      event.wantsHtml = JSON_TYPE.test(contentType)
        ? false
        : FORM_TYPE.test(contentType) || (request.context as { preferredMediaType?: string }).preferredMediaType !== 'application/json'
      event.page = options.page
      event.receivedAt = new Date()
      event.requestId = event.requestContext?.requestId || randomUUID()
      event.runtime = await getRuntime()
      const client = identifyClient(
        { sourceIp: event.requestContext.http.sourceIp, apiId: event.requestContext.apiId, headers },
        event.runtime.config.trustProxy,
      )
      event.clientIp = client.ip
      event.secure = client.secure
      event.log = event.runtime.log.child({
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
      const carriesCookie = hasSessionCookie(event)
      const isJson = JSON_TYPE.test(headers['content-type'] ?? '')
      if (!carriesCookie && isJson) return
      const origin = headers.origin
      const ownOrigin = `${event.secure ? 'https' : 'http'}://${headers.host ?? event.requestContext.domainName}`
      if ((origin !== undefined && origin !== ownOrigin) || headers['sec-fetch-site'] === 'cross-site') {
        throw new Problem('cross_origin_rejected', { detail: 'This request must come from the service’s own pages.' })
      }
    },
  }
}

// parseBody picks the parser by JSON_TYPE / FORM_TYPE; the parsers' own, stricter content-type
// checks would silently skip a valid "application/json ; charset=utf-8" (RFC 9110 allows the space)
const jsonParser = httpJsonBodyParser({ disableContentTypeCheck: true })
const formParser = httpUrlencodeBodyParser({ disableContentTypeCheck: true })

/** 16 KiB cap, JSON or form only, an object at the top, one value per field. */
function parseBody(): MiddlewareObj<RouteEvent, RouteResult, Error, Context> {
  return {
    before: async (request) => {
      const event = request.event
      const raw = event.body
      const declared = Number(event.headers['content-length'] ?? 0)
      const size = typeof raw === 'string' ? Buffer.byteLength(raw, event.isBase64Encoded ? 'base64' : 'utf8') : 0
      if (declared > MAX_BODY_BYTES || size > MAX_BODY_BYTES) {
        throw new Problem('payload_too_large', { detail: `The body may be at most ${MAX_BODY_BYTES} bytes.` })
      }
      if (typeof raw !== 'string' || raw === '') {
        event.body = {}
        return
      }
      const contentType = event.headers['content-type'] ?? ''
      const isJson = JSON_TYPE.test(contentType)
      if (isJson) await jsonParser.before!(request as never)
      else if (FORM_TYPE.test(contentType)) await formParser.before!(request as never)
      else {
        throw new Problem('unsupported_media_type', {
          detail: 'Send application/json or application/x-www-form-urlencoded.',
        })
      }
      const body = event.body
      if (body === null || typeof body !== 'object' || Array.isArray(body)) {
        throw new Problem('validation_failed', { detail: 'The request body must be a JSON object.' })
      }
      // only the form parser turns a repeated field into an array; in JSON an array is a type error for the schema
      const repeated = isJson ? [] : Object.entries(body).filter(([, value]) => Array.isArray(value))
      if (repeated.length) {
        throw invalidFields(repeated.map(([field]) => ({ field, message: 'This field was sent more than once.' })))
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
