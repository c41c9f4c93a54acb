// Throttling of guesses (docs/security.md#throttling). Failed sign-ins are counted per
// (username, client) and per client, registrations per client. The counters are
// rate-limiter-flexible's, kept in PostgreSQL so a restart forgets nothing and every Lambda
// instance sees the same numbers.
//
// An attempt is counted *before* its bcrypt comparison and given back when it succeeds: the
// counter is one atomic upsert, so a burst of parallel guesses cannot all slip past the check.
// An attempt whose password was never checked (the bcrypt pool refused it with 503 or 429, the
// database failed) gives its count back too: only a password checked and found wrong counts, so a
// flood from other addresses cannot lock anyone out, nor can a client obeying Retry-After.
// Successful sign-ins are counted too, per (username, client) and minute: a script signing in
// many times a second is not a user, and each success costs a bcrypt comparison and a session.
import { createHash } from 'node:crypto'
import ipaddr from 'ipaddr.js'
// the one limiter used, not the package's index, which loads every store it supports (Redis, Mongo…)
import RateLimiterPostgres from 'rate-limiter-flexible/lib/RateLimiterPostgres.js'
import type { RateLimiterRes } from 'rate-limiter-flexible'
import type { Database, Queryable } from '../platform/database.ts'
import type { ThrottlePolicy } from '../platform/config.ts'
import { Problem } from '../problem.ts'
import { usernameKey } from './username.ts'

const FAILURE_WINDOW_SECONDS = 15 * 60
const LOCKOUT_MEMORY_SECONDS = 24 * 3600
const HOUR = 3600
const MINUTE = 60

/** One sign-in (or current-password check) in progress; report how it ended. */
export interface LoginAttempt {
  /** Records the success; throws rate_limited when it is one more than a minute allows. */
  succeeded(): Promise<void>
  /** Records the failure; returns the lockout it started, in seconds, if it was the last one allowed. */
  failed(): Promise<number | undefined>
  /** The password was never checked because of `reason`: gives the count back and throws `reason` on. */
  withdraw(reason: unknown): Promise<never>
}

export interface Throttle {
  /** Counts an attempt for `username` from `clientIp`, or refuses it with 429 rate_limited. */
  startLoginAttempt(username: string, clientIp: string): Promise<LoginAttempt>
  /**
   * The same for a second-factor code (TOTP or recovery code): counters of their own, under the
   * same rules, so a correct password (which clears the password's counters) gives no new guesses.
   */
  startSecondFactorAttempt(username: string, clientIp: string): Promise<LoginAttempt>
  /** Counts a registration from `clientIp`, or refuses it with 429 rate_limited. */
  countRegistration(clientIp: string): Promise<void>
  /**
   * Counts a restart of the packet forwarder by any admin: one a minute per device, or 429
   * rate_limited. A restart that did not happen (the supervisor refused or failed) gives it back.
   */
  countForwarderRestart(): Promise<{ giveBack(): Promise<void> }>
  /** Deletes expired counters (the Express adapter's hourly sweep). */
  deleteExpired(now: Date): Promise<void>
}

/** The n-th lockout in a day lasts base·2^(n-1) seconds, capped: 1, 2, 4, … minutes by default. */
export function lockoutSeconds(
  lockoutNumber: number,
  policy: Pick<ThrottlePolicy, 'lockoutSeconds' | 'maxLockoutSeconds'>,
): number {
  const doublings = Math.min(Math.max(lockoutNumber - 1, 0), 30)
  return Math.min(policy.lockoutSeconds * 2 ** doublings, policy.maxLockoutSeconds)
}

/**
 * The address a client is counted under. An IPv6 host usually owns a whole /64, so the /64 is
 * one client; an IPv4-mapped IPv6 address is its IPv4 address.
 */
export function clientKey(ip: string): string {
  if (!ipaddr.isValid(ip)) return ip
  const address = ipaddr.process(ip)
  if (address.kind() === 'ipv4') return address.toString()
  const parts = (address as ipaddr.IPv6).parts.slice(0, 4)
  return `${new ipaddr.IPv6([...parts, 0, 0, 0, 0]).toString()}/64`
}

/**
 * A counter belongs to the account the name reaches: usernameKey, the form findUserByUsername
 * looks up, so no spelling of a name gets a counter of its own (Alice and alice share one). The
 * name's digest leads the key so that `gateway-auth users unlock` finds them from every client.
 */
function usernameDigest(username: string): string {
  const key = usernameKey(username)
  // the handlers validate the name first; reaching here with another is a bug, not a guess
  if (key === null) throw new TypeError('a login attempt was counted for a name no account can have')
  return digest(key)
}
const userClientKey = (username: string, ip: string) => `${usernameDigest(username)}.${digest(clientKey(ip))}`
const digest = (value: string) => createHash('sha256').update(value).digest('hex')

export const retryAfterSeconds = (ms: number) => Math.max(1, Math.ceil(ms / 1000))

function rateLimited(ms: number, detail: string): Problem {
  const seconds = retryAfterSeconds(ms)
  return new Problem('rate_limited', {
    detail: `${detail} Try again in ${describeWait(seconds)}.`,
    headers: { 'retry-after': String(seconds) },
  })
}

const describeWait = (seconds: number) =>
  seconds < 90 ? `${seconds} second${seconds === 1 ? '' : 's'}` : `${Math.ceil(seconds / 60)} minutes`

// the counters kept per (username, client): failures in the window, and lockouts in the day, for
// passwords and for second-factor codes
const USER_COUNTERS = ['login', 'lockouts', 'factor', 'factor-lockouts'] as const

/** Forgets the failed sign-ins and lockouts of `username` from every client; returns how many counters went. */
export async function clearUserThrottling(db: Queryable, username: string): Promise<number> {
  // the digest is hex, so the pattern has no LIKE wildcards but the trailing one
  const patterns = USER_COUNTERS.map((prefix) => `${prefix}:${usernameDigest(username)}.%`)
  const result = await db.result('DELETE FROM throttle WHERE key LIKE ANY($1)', [patterns])
  return result.rowCount
}

/** Throttling backed by the `throttle` table (migrations/1764000000000_throttle.sql). */
const throttles = new WeakMap<Database, Throttle>()

/** The throttle of a runtime's database, made on first use (its counters are prepared once per pool). */
export function throttleFor(runtime: {
  readonly db: Database
  readonly config: { readonly throttle: ThrottlePolicy }
}): Throttle {
  let throttle = throttles.get(runtime.db)
  if (!throttle) throttles.set(runtime.db, (throttle = createThrottle(runtime.db, runtime.config.throttle)))
  return throttle
}

export function createThrottle(db: Database, policy: ThrottlePolicy): Throttle {
  const counter = (keyPrefix: string, points: number, duration: number) =>
    new RateLimiterPostgres({
      storeClient: db.$pool,
      storeType: 'pool',
      tableName: 'throttle',
      tableCreated: true, // by the migration, not by the library at an unknown moment
      clearExpiredByTimeout: false, // deleteExpired() does it, on the adapter's schedule
      keyPrefix,
      points,
      duration,
    })
  const userClientFailures = counter(USER_COUNTERS[0], policy.maxFailures, FAILURE_WINDOW_SECONDS)
  const lockouts = counter(USER_COUNTERS[1], Number.MAX_SAFE_INTEGER, LOCKOUT_MEMORY_SECONDS)
  const clientFailures = counter('client', policy.clientMaxFailuresPerHour, HOUR)
  const registrations = counter('register', policy.registrationsPerHour, HOUR)
  const successes = counter('success', policy.successesPerMinute, MINUTE)
  const forwarderRestarts = counter('forwarder_restart', 1, MINUTE)

  const factorFailures = counter(USER_COUNTERS[2], policy.maxFailures, FAILURE_WINDOW_SECONDS)
  const factorLockouts = counter(USER_COUNTERS[3], Number.MAX_SAFE_INTEGER, LOCKOUT_MEMORY_SECONDS)
  const tooManySuccesses = (ms: number) => rateLimited(ms, 'Too many sign-ins to this account from your address.')

  const over = (res: RateLimiterRes, limit: number) => res.consumedPoints > limit

  /** One guess at a secret of `username` (password or code), counted in `failures` and `lockoutsOf`. */
  async function startAttempt(
    username: string,
    clientIp: string,
    failures: RateLimiterPostgres,
    lockoutsOf: RateLimiterPostgres,
    countSuccesses: boolean,
  ): Promise<LoginAttempt> {
    const userKey = userClientKey(username, clientIp)
    const client = digest(clientKey(clientIp))
    // a client over its sign-ins for the minute is refused before the bcrypt comparison
    const [forUser, succeededBefore] = await Promise.all([
      failures.penalty(userKey),
      countSuccesses ? successes.get(userKey) : null,
    ])
    if (succeededBefore && succeededBefore.consumedPoints >= policy.successesPerMinute) {
      await failures.reward(userKey)
      throw tooManySuccesses(succeededBefore.msBeforeNext)
    }
    if (over(forUser, policy.maxFailures)) {
      throw rateLimited(forUser.msBeforeNext, 'Too many failed sign-ins for this account from your address.')
    }
    const forClient = await clientFailures.penalty(client)
    if (over(forClient, policy.clientMaxFailuresPerHour)) {
      await failures.reward(userKey) // refused before the check: not a guess at this account
      throw rateLimited(forClient.msBeforeNext, 'Too many failed sign-ins from your address.')
    }
    return {
      async succeeded() {
        const [counted] = await Promise.all([
          countSuccesses ? successes.penalty(userKey) : null,
          failures.delete(userKey),
          lockoutsOf.delete(userKey),
          clientFailures.reward(client),
        ])
        // the check above let a burst through together: the atomic count decides
        if (counted && over(counted, policy.successesPerMinute)) throw tooManySuccesses(counted.msBeforeNext)
      },
      async failed() {
        if (forUser.consumedPoints < policy.maxFailures) return undefined
        const lockout = lockoutSeconds((await lockoutsOf.penalty(userKey)).consumedPoints, policy)
        await failures.block(userKey, lockout)
        return lockout
      },
      withdraw: async (reason) => {
        await Promise.all([failures.reward(userKey), clientFailures.reward(client)])
        throw reason
      },
    }
  }

  return {
    startLoginAttempt: (username, clientIp) => startAttempt(username, clientIp, userClientFailures, lockouts, true),
    startSecondFactorAttempt: (username, clientIp) =>
      startAttempt(username, clientIp, factorFailures, factorLockouts, false),

    async countRegistration(clientIp) {
      const counted = await registrations.penalty(digest(clientKey(clientIp)))
      if (over(counted, policy.registrationsPerHour)) {
        throw rateLimited(counted.msBeforeNext, 'Too many registrations from your address.')
      }
    },

    async countForwarderRestart() {
      // one key for the whole device: every admin's restart is the same forwarder's
      const counted = await forwarderRestarts.penalty('device')
      if (over(counted, 1)) {
        throw rateLimited(counted.msBeforeNext, 'The packet forwarder was restarted less than a minute ago.')
      }
      return { giveBack: async () => void (await forwarderRestarts.reward('device')) }
    },

    async deleteExpired(now) {
      await db.none('DELETE FROM throttle WHERE expire < $1', [now.getTime()])
    },
  }
}
