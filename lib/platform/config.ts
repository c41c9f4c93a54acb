// Configuration: one typed, frozen object parsed from the environment once at start.
// The README's configuration table is the list (tests/docs/ keeps the two equal); a bad value stops
// the start with one line per variable, naming it and never echoing a secret.
// Read with a table of small parsers rather than zod: this runs at every start, before the port
// opens, and loading zod there (~19 MB, ~90 ms) was most of a cold start (docs/decisions/011);
// request validation still uses zod, loaded with the routes.
import { isIP } from 'node:net'
import { availableParallelism } from 'node:os'
import path from 'node:path'
import proxyAddr from 'proxy-addr'
import { MAX_BCRYPT_COST, MIN_BCRYPT_COST } from './bcrypt-costs.ts'

interface Invalid {
  readonly invalid: string
}
/** One variable: its value when unset (or blank), and how a set value is read. */
interface Variable<T> {
  readonly fallback: T
  parse(raw: string, name: string): T | Invalid
}
const invalid = (message: string): Invalid => ({ invalid: message })
const isInvalid = (value: unknown): value is Invalid =>
  typeof value === 'object' && value !== null && 'invalid' in value

const isWhole = (raw: string, min: number, max: number) =>
  /^\d+$/.test(raw.trim()) && Number.isSafeInteger(Number(raw)) && Number(raw) >= min && Number(raw) <= max
const wholeMessage = (name: string, raw: string, min: number, max: number) =>
  `${name} must be a whole number from ${min} to ${max} (got "${raw}")`

const whole = (fallback: number, min: number, max: number): Variable<number> => ({
  fallback,
  parse: (raw, name) => (isWhole(raw, min, max) ? Number(raw) : invalid(wholeMessage(name, raw, min, max))),
})
/** A whole number whose default depends on the host (documented as "unset"). */
const wholeOrUnset = (min: number, max: number): Variable<number | undefined> => ({
  fallback: undefined,
  parse: (raw, name) => (isWhole(raw, min, max) ? Number(raw) : invalid(wholeMessage(name, raw, min, max))),
})
const text = (fallback: string): Variable<string> => ({
  fallback,
  parse: (raw, name) => raw.trim() || invalid(`${name} must not be blank`),
})
/** Optional; `message` must not echo the value (it may be a secret). */
const checked = (valid: (raw: string) => boolean, message: string): Variable<string | undefined> => ({
  fallback: undefined,
  parse: (raw) => (valid(raw) ? raw : invalid(message)),
})
const oneOf = <T extends string>(values: readonly T[], fallback: T): Variable<T> => ({
  fallback,
  parse: (raw, name) =>
    values.includes(raw as T) ? (raw as T) : invalid(`${name} must be one of ${values.join(', ')}`),
})

const trustList = (value: string | undefined) =>
  (value ?? '')
    .split(',')
    .map((entry) => entry.trim())
    .filter(Boolean)
const isTrustList = (value: string) => {
  try {
    proxyAddr.compile(trustList(value))
    return true
  } catch {
    return false
  }
}

// a DNS name (an optional leading dot: the domain and its subdomains), an IP address, or *
const DNS_LABEL = '[a-z0-9_](?:[a-z0-9_-]*[a-z0-9_])?'
const ALLOWED_HOST_ENTRY = new RegExp(`^(?:\\*|\\.?${DNS_LABEL}(?:\\.${DNS_LABEL})*\\.?|\\[?[0-9a-f:.]+\\]?)$`, 'i')

const VARIABLES = {
  PORT: whole(8085, 1, 65535),
  LISTEN_ADDRESS: checked(
    (address) => isIP(address) !== 0,
    'LISTEN_ADDRESS must be an IP address such as 127.0.0.1 or ::1 (unset: every interface)',
  ),
  // the URL holds a password: never echo it
  DATABASE_URL: checked(
    (url) => /^postgres(ql)?:\/\//.test(url),
    'DATABASE_URL must be a postgres:// or postgresql:// URL',
  ),
  DATA_DIR: text('./data'),
  JWT_SECRET: checked(
    (secret) => Buffer.byteLength(secret) >= 32,
    'JWT_SECRET must be at least 32 bytes long (unset it to have one generated in DATA_DIR)',
  ),
  SESSION_TTL_SECONDS: whole(3600, 60, 31 * 24 * 3600),
  BCRYPT_COST: whole(10, MIN_BCRYPT_COST, MAX_BCRYPT_COST),
  PASSWORD_MIN_LENGTH: whole(15, 8, 64),
  // checked here: proxy-addr would otherwise throw on the first request, and on every one after
  TRUST_PROXY: checked(
    isTrustList,
    'TRUST_PROXY must be a comma-separated list of IP addresses, CIDR subnets, loopback, linklocal or uniquelocal',
  ),
  ALLOWED_HOSTS: checked(
    (value) => trustList(value).every((entry) => ALLOWED_HOST_ENTRY.test(entry)),
    'ALLOWED_HOSTS must be a comma-separated list of host names without a port (example.com), ' +
      '.example.com for a domain and its subdomains, or *',
  ),
  // the front door (docs/front-door.md): the rules file, the cookie's domain, the sign-in page's URL
  ACCESS_RULES: checked((value) => value.trim() !== '', 'ACCESS_RULES must be the path of the access rules file'),
  COOKIE_DOMAIN: checked(
    (value) => new RegExp(`^\\.?${DNS_LABEL}(?:\\.${DNS_LABEL})+$`, 'i').test(value),
    'COOKIE_DOMAIN must be a domain name with at least two labels (gateway.local), shared by the apps',
  ),
  AUTH_URL: checked(
    (value) => /^https?:\/\/[^/?#@\s]+\/?$/i.test(value) && URL.canParse(value),
    'AUTH_URL must be the origin the browser reaches this service at (https://auth.gateway.local)',
  ),
  // throttling (docs/security.md#throttling)
  LOGIN_MAX_FAILURES: whole(5, 1, 1000),
  LOGIN_LOCKOUT_SECONDS: whole(60, 1, 24 * 3600),
  LOGIN_LOCKOUT_MAX_SECONDS: whole(3600, 1, 7 * 24 * 3600),
  LOGIN_CLIENT_MAX_FAILURES: whole(30, 1, 1_000_000),
  REGISTRATIONS_PER_HOUR: whole(10, 1, 1_000_000),
  // who may create accounts over HTTP (lib/auth/registration.ts); the CLI always may
  REGISTRATION: oneOf(['open', 'first', 'closed'] as const, 'first'),
  // which accounts must have a second factor before they reach anything (docs/decisions/019)
  REQUIRE_SECOND_FACTOR: oneOf(['off', 'admins', 'everyone'] as const, 'off'),
  LOGIN_SUCCESSES_PER_MINUTE: whole(10, 1, 1_000_000),
  SESSIONS_PER_USER: whole(10, 1, 1000),
  // validated sessions kept in memory (lib/auth/session-cache.ts); 0 turns the cache off
  SESSION_CACHE_ENTRIES: whole(1000, 0, 10_000),
  // the bcrypt pool (lib/auth/hash-pool.ts, docs/decisions/011)
  HASH_WORKERS: wholeOrUnset(1, 64),
  HASH_QUEUE: whole(64, 0, 10_000),
  HASH_PER_CLIENT: whole(4, 1, 10_000),
  // connection and memory limits of the HTTP server (docs/security.md, docs/decisions/012)
  MAX_CONNECTIONS: whole(512, 8, 100_000),
  MAX_CONNECTIONS_PER_CLIENT: whole(32, 1, 100_000),
  BODY_BYTES_IN_FLIGHT: whole(1_048_576, 16_385, 1_073_741_824),
  REQUEST_TIMEOUT_SECONDS: whole(30, 1, 3600),
  HEAP_SHED_PERCENT: whole(80, 10, 99),
  // how often the Express adapter deletes expired sessions and throttle counters
  SWEEP_INTERVAL_SECONDS: whole(3600, 1, 24 * 3600),
  JWT_ISSUER: text('gateway-auth'),
  JWT_AUDIENCE: text('gateway-auth'),
  EMBEDDED_PG_USER: checked(() => true, ''),
  LOG_LEVEL: oneOf(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], 'info'),
} satisfies Record<string, Variable<unknown>>

type VariableName = keyof typeof VARIABLES
type Values = { [K in VariableName]: (typeof VARIABLES)[K]['fallback'] }

/** Every variable the service reads, in the order the README's configuration table lists them. */
export const ENVIRONMENT_VARIABLES = Object.keys(VARIABLES) as VariableName[]

/** The value a variable takes when it is unset (undefined: it has none). */
export function defaultValue(name: VariableName): unknown {
  return VARIABLES[name].fallback
}

/**
 * bcrypt threads when HASH_WORKERS is unset: the cores minus one, at least one. The spare core keeps
 * the event loop (health checks, pages, dashboards) answering while sign-ins saturate the pool, and
 * on a gateway leaves the LoRa packet forwarder and network server a core of their own.
 */
export const defaultHashWorkers = (cores = availableParallelism()) => Math.max(1, cores - 1)

export interface Config {
  readonly port: number
  /** The address the Express adapter listens on; undefined: every interface. */
  readonly listenAddress: string | undefined
  /** 'lambda' when AWS Lambda runs the process (AWS_LAMBDA_FUNCTION_NAME is set), else 'server'. */
  readonly platform: 'lambda' | 'server'
  readonly database: {
    readonly url: string | undefined
    readonly embeddedUser: string | undefined
    /** Pool size: 1 on Lambda, where an execution environment serves one request at a time. */
    readonly poolMax: number
    /** Migrate at start; on Lambda migrations are a deploy step (lambda/migrate.ts), not every cold start. */
    readonly migrateOnStart: boolean
  }
  readonly dataDir: string
  readonly jwt: { readonly secret: string | undefined; readonly issuer: string; readonly audience: string }
  /** cacheEntries: validated sessions held in memory per process (0: none; never on Lambda). */
  readonly session: { readonly ttlSeconds: number; readonly maxPerUser: number; readonly cacheEntries: number }
  readonly password: { readonly bcryptCost: number; readonly minLength: number }
  /** The bcrypt worker pool: threads, waiting tasks (all clients), running + waiting per client. */
  readonly hashing: { readonly workers: number; readonly queue: number; readonly perClient: number }
  readonly throttle: ThrottlePolicy
  readonly limits: ConnectionLimits
  /** open: anyone; first: only while no account exists; closed: only the admin CLI. */
  readonly registration: RegistrationPolicy
  /** Who must have a second factor: nobody, the `admins` group, or every account. */
  readonly requireSecondFactor: SecondFactorPolicy
  /** Seconds between the sweeps of expired sessions and throttle counters (Express adapter). */
  readonly sweepIntervalSeconds: number
  /** Addresses/subnets whose X-Forwarded-* headers are believed; empty: none. */
  readonly trustProxy: readonly string[]
  /** Host names answered besides the defaults (lib/http/host-check.ts), lower case; '*': any. */
  readonly allowedHosts: readonly string[]
  readonly frontDoor: {
    /** The access rules file; undefined: every protected app is closed. */
    readonly accessRules: string | undefined
    /** The session cookie's Domain (docs/decisions/016); undefined: host-only. */
    readonly cookieDomain: string | undefined
    /** Origin of the sign-in page for apps on other hosts; undefined: the app's own origin. */
    readonly authOrigin: string | undefined
  }
  readonly logLevel: string
}

export type RegistrationPolicy = 'open' | 'first' | 'closed'
export type SecondFactorPolicy = 'off' | 'admins' | 'everyone'

export interface ThrottlePolicy {
  /** Failed sign-ins for one username from one client before a lockout. */
  readonly maxFailures: number
  /** The first lockout; each further one within a day doubles it, up to maxLockoutSeconds. */
  readonly lockoutSeconds: number
  readonly maxLockoutSeconds: number
  /** Failed sign-ins from one client per hour, whatever the usernames. */
  readonly clientMaxFailuresPerHour: number
  readonly registrationsPerHour: number
  /** Successful sign-ins for one username from one client per minute: more is a script, not a user. */
  readonly successesPerMinute: number
}

/** What the HTTP server of the Express adapter holds at most at once (lib/http/connection-limits.ts). */
export interface ConnectionLimits {
  /** Open connections, all peers together. */
  readonly connections: number
  /** Open connections from one peer address (a trusted proxy's share is larger: see connectionCap). */
  readonly connectionsPerClient: number
  /** Declared bytes of the request bodies being read at once. */
  readonly bodyBytesInFlight: number
  /** A request's whole life, headers and body, before the server answers 408 and closes it. */
  readonly requestTimeoutSeconds: number
  /** V8 heap use, in percent of its limit, above which new bodies and extra connections are refused. */
  readonly heapShedPercent: number
}

/** Thrown for a bad environment; its message is one line per bad variable, safe to print. */
export class ConfigError extends Error {
  override name = 'ConfigError'
}

/** Parses the environment into a frozen Config, or throws ConfigError naming every bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const errors: string[] = []
  const read: Record<string, unknown> = {}
  for (const name of ENVIRONMENT_VARIABLES) {
    const raw = env[name]
    const variable: Variable<unknown> = VARIABLES[name]
    const value = raw === undefined || raw === '' ? variable.fallback : variable.parse(raw, name)
    if (isInvalid(value)) errors.push(value.invalid)
    else read[name] = value
  }
  if (errors.length) throw new ConfigError(errors.join('\n'))
  const e = read as Values
  const onLambda = Boolean(env.AWS_LAMBDA_FUNCTION_NAME)
  if (onLambda) requireOnLambda(e)
  return deepFreeze({
    port: e.PORT,
    listenAddress: e.LISTEN_ADDRESS,
    platform: onLambda ? 'lambda' : 'server',
    database: {
      url: e.DATABASE_URL,
      embeddedUser: e.EMBEDDED_PG_USER?.trim() || undefined,
      poolMax: onLambda ? 1 : 10,
      migrateOnStart: !onLambda,
    },
    dataDir: path.resolve(e.DATA_DIR),
    jwt: { secret: e.JWT_SECRET, issuer: e.JWT_ISSUER.trim(), audience: e.JWT_AUDIENCE.trim() },
    session: {
      ttlSeconds: e.SESSION_TTL_SECONDS,
      maxPerUser: e.SESSIONS_PER_USER,
      cacheEntries: e.SESSION_CACHE_ENTRIES,
    },
    password: { bcryptCost: e.BCRYPT_COST, minLength: e.PASSWORD_MIN_LENGTH },
    hashing: { workers: e.HASH_WORKERS ?? defaultHashWorkers(), queue: e.HASH_QUEUE, perClient: e.HASH_PER_CLIENT },
    throttle: {
      maxFailures: e.LOGIN_MAX_FAILURES,
      lockoutSeconds: e.LOGIN_LOCKOUT_SECONDS,
      maxLockoutSeconds: Math.max(e.LOGIN_LOCKOUT_MAX_SECONDS, e.LOGIN_LOCKOUT_SECONDS),
      clientMaxFailuresPerHour: e.LOGIN_CLIENT_MAX_FAILURES,
      registrationsPerHour: e.REGISTRATIONS_PER_HOUR,
      successesPerMinute: e.LOGIN_SUCCESSES_PER_MINUTE,
    },
    limits: {
      connections: e.MAX_CONNECTIONS,
      connectionsPerClient: Math.min(e.MAX_CONNECTIONS_PER_CLIENT, e.MAX_CONNECTIONS),
      bodyBytesInFlight: e.BODY_BYTES_IN_FLIGHT,
      requestTimeoutSeconds: e.REQUEST_TIMEOUT_SECONDS,
      heapShedPercent: e.HEAP_SHED_PERCENT,
    },
    registration: e.REGISTRATION,
    requireSecondFactor: e.REQUIRE_SECOND_FACTOR,
    sweepIntervalSeconds: e.SWEEP_INTERVAL_SECONDS,
    trustProxy: trustList(e.TRUST_PROXY),
    allowedHosts: trustList(e.ALLOWED_HOSTS).map((entry) => entry.toLowerCase()),
    frontDoor: {
      accessRules: e.ACCESS_RULES?.trim(),
      cookieDomain: e.COOKIE_DOMAIN?.replace(/^\./, '').toLowerCase(),
      authOrigin: e.AUTH_URL ? new URL(e.AUTH_URL).origin : undefined,
    },
    logLevel: e.LOG_LEVEL,
  })
}

// Lambda has no disk that outlives an execution environment and a read-only /var/task: no embedded
// database and no generated secret there, so both must come from outside (Secrets Manager, see infra/).
function requireOnLambda(e: { DATABASE_URL?: string | undefined; JWT_SECRET?: string | undefined }): void {
  const lines = []
  if (!e.DATABASE_URL) lines.push('DATABASE_URL is required on AWS Lambda (there is no embedded database there)')
  if (!e.JWT_SECRET) {
    lines.push('JWT_SECRET is required on AWS Lambda (a generated one would not be shared by the functions)')
  }
  if (lines.length) throw new ConfigError(lines.join('\n'))
}

function deepFreeze<T extends object>(value: T): T {
  for (const child of Object.values(value)) if (child && typeof child === 'object') deepFreeze(child)
  return Object.freeze(value)
}
