// Every error response is made here. Codes are the contract's closed list (docs/api.md#errors);
// add one here and in the contract together. Handlers throw a Problem; anything else that is
// thrown is logged here and answered with a generic 500, its details never sent.
import type { MiddlewareObj } from '@middy/core'
import type { RouteEvent, RouteResult } from './http-types.ts'
import { renderErrorPage } from './pages.ts'
import { createLogger } from './log.ts'
import type { Logger } from 'pino'

let fallbackLog: Logger | undefined

export const PROBLEMS = {
  validation_failed: [400, 'Invalid input'],
  invalid_credentials: [401, 'Invalid username or password'],
  unauthorized: [401, 'Not signed in'],
  session_expired: [401, 'Session expired'],
  forbidden: [403, 'Forbidden'],
  cross_origin_rejected: [403, 'Cross-origin request rejected'],
  not_found: [404, 'Not found'],
  method_not_allowed: [405, 'Method not allowed'],
  username_taken: [409, 'Username already taken'],
  payload_too_large: [413, 'Request body too large'],
  unsupported_media_type: [415, 'Unsupported media type'],
  rate_limited: [429, 'Too many attempts'],
  internal_error: [500, 'Internal error'],
  service_unavailable: [503, 'Service unavailable'],
} as const satisfies Record<string, readonly [number, string]>

export type ProblemCode = keyof typeof PROBLEMS
export interface FieldError {
  field: string
  message: string
}
export interface ProblemExtra {
  detail?: string
  errors?: FieldError[]
  headers?: Record<string, string>
  cause?: unknown
}

/** An error the client is meant to see: a contract code plus optional detail and field errors. */
export class Problem extends Error {
  readonly code: ProblemCode
  readonly extra: ProblemExtra
  constructor(code: ProblemCode, extra: ProblemExtra = {}) {
    super(extra.detail ?? PROBLEMS[code][1], { cause: extra.cause })
    this.name = 'Problem'
    this.code = code
    this.extra = extra
  }
  get status(): number {
    return PROBLEMS[this.code][0]
  }
}

/** Field-level validation failure: 400 validation_failed with `errors`. */
export const invalidFields = (errors: FieldError[], detail = 'Some fields are invalid.') =>
  new Problem('validation_failed', { detail, errors })

// Middy's parsers throw http-errors with a status; map them by status onto our codes.
const BY_STATUS: Record<number, ProblemCode> = {
  400: 'validation_failed',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
  422: 'validation_failed',
}

// The database cannot be reached (stopped, restarting, socket gone, pool exhausted): a temporary
// condition of the service, not a bug, so 503 service_unavailable rather than 500.
const UNREACHABLE_ERRNO = new Set(['ECONNREFUSED', 'ENOENT', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN'])
const LOST_CONNECTION = /^(timeout exceeded when trying to connect|Connection terminated( unexpectedly| due to connection timeout)?)$/

/** True for errors that mean "no database connection" rather than a failed query. */
export function isDatabaseUnavailable(error: unknown): boolean {
  const e = error as { code?: unknown; syscall?: unknown; message?: unknown; errors?: unknown } | null
  if (!e || typeof e !== 'object') return false
  const code = typeof e.code === 'string' ? e.code : ''
  // SQLSTATE class 08 (connection exception) but 08P01 (a protocol violation: a bug, e.g. a NUL
  // byte in query text, not an outage), 57P01-57P03 (admin/crash shutdown, cannot connect now)
  if ((/^08[0-9A-Z]{3}$/.test(code) && code !== '08P01') || /^57P0[123]$/.test(code)) return true
  // a socket that could not be opened (ENOENT: the Unix socket of a stopped server is gone)
  if (UNREACHABLE_ERRNO.has(code) && (e.syscall === 'connect' || e.syscall === 'getaddrinfo')) return true
  if (code === 'ECONNRESET' || code === 'EPIPE') return true
  // pg-pool's and pg's own wording, without a code
  if (typeof e.message === 'string' && LOST_CONNECTION.test(e.message)) return true
  return Array.isArray(e.errors) && e.errors.some(isDatabaseUnavailable)
}

/** Seconds a client should wait before retrying while the database is away (a restart takes a few). */
export const UNAVAILABLE_RETRY_AFTER_SECONDS = 5

export const databaseUnavailable = (cause: unknown) =>
  new Problem('service_unavailable', { cause, headers: { 'retry-after': String(UNAVAILABLE_RETRY_AFTER_SECONDS) } })

/** Any thrown value → a Problem. Unknown errors become internal_error (their cause kept for the log). */
export function toProblem(error: unknown): Problem {
  if (error instanceof Problem) return error
  if (isDatabaseUnavailable(error)) return databaseUnavailable(error)
  const status = (error as { statusCode?: unknown } | null)?.statusCode
  const code = typeof status === 'number' ? BY_STATUS[status] : undefined
  if (code === 'validation_failed') {
    return new Problem(code, { detail: 'The request body is not valid JSON.', cause: error })
  }
  if (code) return new Problem(code, { cause: error })
  return new Problem('internal_error', { cause: error })
}

export const problemTypeUri = (code: ProblemCode) => `/docs/api.md#${code.replaceAll('_', '-')}`

/** The RFC 9457 JSON response for a problem. */
export function problemJson(problem: Problem): RouteResult {
  const [status, title] = PROBLEMS[problem.code]
  const { detail, errors } = problem.extra
  return {
    statusCode: status,
    headers: { 'content-type': 'application/problem+json', ...problem.extra.headers },
    body: JSON.stringify({
      type: problemTypeUri(problem.code),
      title,
      status,
      // 5xx details are internal: only the generic title goes out
      ...(status < 500 && detail ? { detail } : {}),
      code: problem.code,
      ...(errors?.length ? { errors } : {}),
    }),
  }
}

// refusals an operator watching for attacks wants to see: guessing, probing, forged requests
const SECURITY_RELEVANT = new Set<ProblemCode>([
  'invalid_credentials', 'unauthorized', 'session_expired', 'forbidden', 'cross_origin_rejected', 'rate_limited',
])

/** Middy onError step, registered last so it runs first: turns request.error into the response. */
export function problemResponder(): MiddlewareObj<RouteEvent, RouteResult> {
  return {
    onError: (request) => {
      const problem = toProblem(request.error)
      const event = request.event
      // before the request logger exists (the runtime failed to start) the process one stands in
      const log = event.log ?? (fallbackLog ??= createLogger('info'))
      if (problem.status >= 500) log.error({ event: 'request_failed', code: problem.code, err: problem.extra.cause ?? problem }, 'request failed')
      else {
        // field names only, never the values sent
        const fields = problem.extra.errors?.map((error) => error.field)
        const level = SECURITY_RELEVANT.has(problem.code) ? 'warn' : 'info'
        log[level]({ event: 'request_refused', code: problem.code, status: problem.status, fields, retryAfter: problem.extra.headers?.['retry-after'] }, 'request refused')
      }
      request.response = event.wantsHtml ? renderErrorPage(event, problem) : problemJson(problem)
    },
  }
}
