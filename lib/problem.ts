// The contract's error codes, closed and snake_case: every refusal and failure the service answers
// with is one of these (docs/api.md#errors). Handlers throw a Problem; lib/http/problem-response.ts
// is the one place a Problem becomes an HTTP response. This file imports nothing of the service's.

// code: [status, title, what it means and what to do]; the third is served at /problems/<code>
export const PROBLEMS = {
  validation_failed: [400, 'Invalid input', 'A field is missing or breaks a rule; `errors` names each field and why.'],
  invalid_credentials: [
    401,
    'Invalid username or password',
    'The username or the password is wrong. Check both and try again.',
  ],
  // extensions: the second factor (docs/decisions/019-second-factor.md)
  second_factor_required: [
    401,
    'Second factor required',
    'The password was right and the account has a second factor: send a code with `second_factor.pending` to ' +
      'POST /login/second-factor before `second_factor.expires_in` seconds pass.',
  ],
  invalid_second_factor: [
    401,
    'Invalid code',
    'The code is wrong, was used already, or is outside the time window (check the clock of the device ' +
      'that shows it). Try the next code, or a recovery code.',
  ],
  pending_sign_in_expired: [
    401,
    'Sign-in expired',
    'The password step is missing, expired, already used or came from another client: sign in with the ' +
      'password again.',
  ],
  unauthorized: [401, 'Not signed in', 'No valid session came with the request, or it was signed out. Sign in again.'],
  session_expired: [
    401,
    'Session expired',
    'The session reached its end (SESSION_TTL_SECONDS after its sign-in). Sign in again.',
  ],
  // an extension of the contract's list (docs/api.md#passkeys, ADR 020)
  passkey_rejected: [
    400,
    'Passkey not accepted',
    'The passkey’s answer did not match an open request of this session: it expired, was used already, came from ' +
      'another site, or the passkey is unknown. Start again.',
  ],
  forbidden: [403, 'Forbidden', 'The session is valid, but it may not see or change this resource.'],
  second_factor_enrolment_required: [
    403,
    'Second factor required by policy',
    'REQUIRE_SECOND_FACTOR requires a second factor for this account: set one up at /security first.',
  ],
  cross_origin_rejected: [
    403,
    'Cross-origin request rejected',
    'A state-changing request came from another site; use the service’s own pages.',
  ],
  not_found: [404, 'Not found', 'No route has this path.'],
  method_not_allowed: [
    405,
    'Method not allowed',
    'The path exists but not for this method; `Allow` lists the methods it takes.',
  ],
  username_taken: [
    409,
    'Username already taken',
    'An account with this name exists (names are compared case-insensitively).',
  ],
  second_factor_exists: [
    409,
    'Second factor already set up',
    'This account has a TOTP key already; remove it before setting up another.',
  ],
  // an extension of the contract's list (docs/api.md, ADR 015): the card's restart button
  restart_not_possible: [
    409,
    'Restart not possible now',
    'The packet forwarder could not be restarted: `detail` says why (not on balena, no supervisor API, no ' +
      'forwarder service, the supervisor did not answer, or the service holds an update lock).',
  ],
  payload_too_large: [413, 'Request body too large', 'The body is over 16 KiB.'],
  unsupported_media_type: [
    415,
    'Unsupported media type',
    'Send application/json or application/x-www-form-urlencoded.',
  ],
  // an extension of the contract's list (docs/api.md#host-names, ADR 009)
  misdirected_request: [
    421,
    'Misdirected request',
    'The Host header names a name this service does not answer to; if it is one of its names, add it to ALLOWED_HOSTS.',
  ],
  // an extension of the contract's list: answered by the HTTP server before any route (adapters/http-server.ts)
  headers_too_large: [
    431,
    'Request headers too large',
    'The request line and headers are over 16 KiB together; send fewer or shorter cookies and headers.',
  ],
  rate_limited: [429, 'Too many attempts', 'Too many attempts from this client; wait as long as `Retry-After` says.'],
  internal_error: [500, 'Internal error', 'Something failed inside the service; the log has the request id.'],
  service_unavailable: [
    503,
    'Service unavailable',
    'The service cannot serve now (its database is away, or it is at its load limits); retry after `Retry-After`.',
  ],
} as const satisfies Record<string, readonly [number, string, string]>

export type ProblemCode = keyof typeof PROBLEMS
export interface FieldError {
  field: string
  message: string
}
export interface ProblemExtra {
  detail?: string
  errors?: FieldError[]
  headers?: Record<string, string>
  /** What the second step needs (second_factor_required only): the pending handle, the methods, its lifetime. */
  secondFactor?: { pending: string; methods: string[]; expires_in: number }
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
const LOST_CONNECTION =
  /^(timeout exceeded when trying to connect|Connection terminated( unexpectedly| due to connection timeout)?)$/

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

function forbiddenJsonKey(error: unknown): string | undefined {
  const { message, cause } = error as { message?: unknown; cause?: { data?: unknown } }
  return message === 'Forbidden key in JSON body' && typeof cause?.data === 'string' ? cause.data : undefined
}

/** Any thrown value → a Problem. Unknown errors become internal_error (their cause kept for the log). */
export function toProblem(error: unknown): Problem {
  if (error instanceof Problem) return error
  if (isDatabaseUnavailable(error)) return databaseUnavailable(error)
  const status = (error as { statusCode?: unknown } | null)?.statusCode
  const code = typeof status === 'number' ? BY_STATUS[status] : undefined
  if (code === 'validation_failed') {
    // Middy's JSON parser refuses keys that could pollute prototypes with the same status as bad syntax
    const key = forbiddenJsonKey(error)
    const detail = key ? `The JSON key "${key}" is not accepted.` : 'The request body is not valid JSON.'
    return new Problem(code, { detail, cause: error })
  }
  if (code) return new Problem(code, { cause: error })
  return new Problem('internal_error', { cause: error })
}

/** The problem's type URI (RFC 9457 §3.1.1): the service itself explains it there. */
export const problemTypeUri = (code: ProblemCode) => `/problems/${code}`

/** The code a type URI's last segment names, if it is one of the contract's. */
export const isProblemCode = (value: string): value is ProblemCode => Object.hasOwn(PROBLEMS, value)
