// The second factor in tests: a clock the test moves (TOTP codes depend on it), codes computed
// with otpauth as an authenticator app would, and enrolment through the JSON API.
import { expect } from 'vitest'
import { TOTP } from 'otpauth'
import type { Account, TestService } from './service.ts'

/** A service clock a test sets; starts at the start of a 30-second step. */
export function movableClock(start = Date.UTC(2027, 0, 1, 12, 0, 0)) {
  let now = start
  return {
    now: () => new Date(now),
    /** Sets the clock to `ms` (epoch) and returns it. */
    set: (ms: number) => (now = ms),
    /** Moves it by `ms`. */
    move: (ms: number) => (now += ms),
    start,
  }
}
export type MovableClock = ReturnType<typeof movableClock>

/** The code an app shows for `secret` at `at` (epoch ms). */
export const totpCode = (secret: string, at: number) =>
  new TOTP({ secret, digits: 6, period: 30, algorithm: 'SHA1' }).generate({ timestamp: at })

/** Turns TOTP on for `account` (signed in as `token`) at the clock's time; returns the key and recovery codes. */
export async function enrolTotp(
  service: TestService,
  account: Pick<Account, 'password'>,
  token: string,
  clock: MovableClock,
): Promise<{ secret: string; recoveryCodes: string[] }> {
  const started = await service.http.postJson('/security/totp', {}, { bearer: token })
  expect(started.status, started.text).toBe(201)
  const secret = started.json.totp_key as string
  const confirmed = await service.http.postJson(
    '/security/totp/confirm',
    { code: totpCode(secret, clock.now().getTime()), current_password: account.password },
    { bearer: token },
  )
  expect(confirmed.status, confirmed.text).toBe(200)
  return { secret, recoveryCodes: confirmed.json.recovery_codes as string[] }
}

/** POST /login as JSON for an account with a second factor: the pending handle. */
export async function passwordStep(service: TestService, account: Pick<Account, 'username' | 'password'>) {
  const reply = await service.http.postJson('/login', { username: account.username, password: account.password })
  expect(reply.status, reply.text).toBe(401)
  expect(reply.json.code).toBe('second_factor_required')
  return reply.json.second_factor.pending as string
}
