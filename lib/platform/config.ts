// Configuration: one typed, frozen object parsed from the environment once at start.
// The contract's table (docs/api.md#configuration) is the list; a bad value stops the start
// with one line per variable, naming it and never echoing a secret.
import path from 'node:path'
import proxyAddr from 'proxy-addr'
import { z } from 'zod'

const whole = (name: string, fallback: number, min: number, max: number) =>
  z
    .string()
    .default(String(fallback))
    .transform((raw, ctx) => {
      const value = Number(raw)
      if (!/^\d+$/.test(raw.trim()) || !Number.isSafeInteger(value) || value < min || value > max) {
        ctx.addIssue({ code: 'custom', message: `${name} must be a whole number from ${min} to ${max} (got "${raw}")` })
        return z.NEVER
      }
      return value
    })

const trustList = (value: string | undefined) => (value ?? '').split(',').map((entry) => entry.trim()).filter(Boolean)

// a DNS name (an optional leading dot: the domain and its subdomains), an IP address, or *
const DNS_LABEL = '[a-z0-9_](?:[a-z0-9_-]*[a-z0-9_])?'
const ALLOWED_HOST_ENTRY = new RegExp(`^(?:\\*|\\.?${DNS_LABEL}(?:\\.${DNS_LABEL})*\\.?|\\[?[0-9a-f:.]+\\]?)$`, 'i')

const text = (fallback: string) => z.string().trim().min(1).default(fallback)

const EnvSchema = z.object({
  PORT: whole('PORT', 8085, 1, 65535),
  DATABASE_URL: z
    .string()
    .optional()
    .refine((url) => url === undefined || url === '' || /^postgres(ql)?:\/\//.test(url), {
      // the URL holds a password: never echo it
      message: 'DATABASE_URL must be a postgres:// or postgresql:// URL',
    }),
  DATA_DIR: text('./data'),
  JWT_SECRET: z
    .string()
    .optional()
    .refine((secret) => secret === undefined || secret === '' || Buffer.byteLength(secret) >= 32, {
      message: 'JWT_SECRET must be at least 32 bytes long (unset it to have one generated in DATA_DIR)',
    }),
  SESSION_TTL_SECONDS: whole('SESSION_TTL_SECONDS', 3600, 60, 31 * 24 * 3600),
  BCRYPT_COST: whole('BCRYPT_COST', 10, 10, 15),
  PASSWORD_MIN_LENGTH: whole('PASSWORD_MIN_LENGTH', 15, 8, 64),
  // checked here: proxy-addr would otherwise throw on the first request, and on every one after
  TRUST_PROXY: z
    .string()
    .optional()
    .refine((value) => {
      try {
        proxyAddr.compile(trustList(value))
        return true
      } catch {
        return false
      }
    }, { message: 'TRUST_PROXY must be a comma-separated list of IP addresses, CIDR subnets, loopback, linklocal or uniquelocal' }),
  ALLOWED_HOSTS: z
    .string()
    .optional()
    .refine((value) => trustList(value).every((entry) => ALLOWED_HOST_ENTRY.test(entry)), {
      message:
        'ALLOWED_HOSTS must be a comma-separated list of host names without a port (example.com), ' +
        '.example.com for a domain and its subdomains, or *',
    }),
  // throttling (docs/security.md#throttling)
  LOGIN_MAX_FAILURES: whole('LOGIN_MAX_FAILURES', 5, 1, 1000),
  LOGIN_LOCKOUT_SECONDS: whole('LOGIN_LOCKOUT_SECONDS', 60, 1, 24 * 3600),
  LOGIN_LOCKOUT_MAX_SECONDS: whole('LOGIN_LOCKOUT_MAX_SECONDS', 3600, 1, 7 * 24 * 3600),
  LOGIN_CLIENT_MAX_FAILURES: whole('LOGIN_CLIENT_MAX_FAILURES', 30, 1, 1_000_000),
  REGISTRATIONS_PER_HOUR: whole('REGISTRATIONS_PER_HOUR', 10, 1, 1_000_000),
  // who may create accounts over HTTP (lib/auth/registration.ts); the CLI always may
  REGISTRATION: z.enum(['open', 'first', 'closed'], { error: 'must be open, first or closed' }).default('first'),
  // how often the Express adapter deletes expired sessions and throttle counters
  SWEEP_INTERVAL_SECONDS: whole('SWEEP_INTERVAL_SECONDS', 3600, 1, 24 * 3600),
  JWT_ISSUER: text('gateway-auth'),
  JWT_AUDIENCE: text('gateway-auth'),
  EMBEDDED_PG_USER: z.string().trim().optional(),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
})

/** Every variable the service reads, in the order the README's configuration table lists them. */
export const ENVIRONMENT_VARIABLES = Object.keys(EnvSchema.shape) as (keyof typeof EnvSchema.shape)[]

/** The value a variable takes when it is unset (undefined: it has none). */
export function defaultValue(name: (typeof ENVIRONMENT_VARIABLES)[number]): unknown {
  const parsed = EnvSchema.shape[name].safeParse(undefined)
  return parsed.success ? parsed.data : undefined
}

export interface Config {
  readonly port: number
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
  readonly session: { readonly ttlSeconds: number }
  readonly password: { readonly bcryptCost: number; readonly minLength: number }
  readonly throttle: ThrottlePolicy
  /** open: anyone; first: only while no account exists; closed: only the admin CLI. */
  readonly registration: RegistrationPolicy
  /** Seconds between the sweeps of expired sessions and throttle counters (Express adapter). */
  readonly sweepIntervalSeconds: number
  /** Addresses/subnets whose X-Forwarded-* headers are believed; empty: none. */
  readonly trustProxy: readonly string[]
  /** Host names answered besides the defaults (lib/host-check.ts), lower case; '*': any. */
  readonly allowedHosts: readonly string[]
  readonly logLevel: string
}

export type RegistrationPolicy = 'open' | 'first' | 'closed'

export interface ThrottlePolicy {
  /** Failed sign-ins for one username from one client before a lockout. */
  readonly maxFailures: number
  /** The first lockout; each further one within a day doubles it, up to maxLockoutSeconds. */
  readonly lockoutSeconds: number
  readonly maxLockoutSeconds: number
  /** Failed sign-ins from one client per hour, whatever the usernames. */
  readonly clientMaxFailuresPerHour: number
  readonly registrationsPerHour: number
}

/** Thrown for a bad environment; its message is one line per bad variable, safe to print. */
export class ConfigError extends Error {
  override name = 'ConfigError'
}

/** Parses the environment into a frozen Config, or throws ConfigError naming every bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const blankAsUnset = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== ''))
  const parsed = EnvSchema.safeParse(blankAsUnset)
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) =>
      issue.code === 'custom' || issue.path.length === 0
        ? issue.message
        : `${String(issue.path[0])}: ${issue.message}`,
    )
    throw new ConfigError(lines.join('\n'))
  }
  const e = parsed.data
  const onLambda = Boolean(env.AWS_LAMBDA_FUNCTION_NAME)
  if (onLambda) requireOnLambda(e)
  return deepFreeze({
    port: e.PORT,
    platform: onLambda ? 'lambda' : 'server',
    database: {
      url: e.DATABASE_URL || undefined,
      embeddedUser: e.EMBEDDED_PG_USER || undefined,
      poolMax: onLambda ? 1 : 10,
      migrateOnStart: !onLambda,
    },
    dataDir: path.resolve(e.DATA_DIR),
    jwt: { secret: e.JWT_SECRET || undefined, issuer: e.JWT_ISSUER, audience: e.JWT_AUDIENCE },
    session: { ttlSeconds: e.SESSION_TTL_SECONDS },
    password: { bcryptCost: e.BCRYPT_COST, minLength: e.PASSWORD_MIN_LENGTH },
    throttle: {
      maxFailures: e.LOGIN_MAX_FAILURES,
      lockoutSeconds: e.LOGIN_LOCKOUT_SECONDS,
      maxLockoutSeconds: Math.max(e.LOGIN_LOCKOUT_MAX_SECONDS, e.LOGIN_LOCKOUT_SECONDS),
      clientMaxFailuresPerHour: e.LOGIN_CLIENT_MAX_FAILURES,
      registrationsPerHour: e.REGISTRATIONS_PER_HOUR,
    },
    registration: e.REGISTRATION,
    sweepIntervalSeconds: e.SWEEP_INTERVAL_SECONDS,
    trustProxy: trustList(e.TRUST_PROXY),
    allowedHosts: trustList(e.ALLOWED_HOSTS).map((entry) => entry.toLowerCase()),
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
