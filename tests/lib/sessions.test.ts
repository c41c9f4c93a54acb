import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  createSession,
  deleteExpiredSessions,
  isSessionExpired,
  sessionEndsAt,
  validateSession,
} from '#lib/auth/sessions.ts'
import { createUser } from '#lib/auth/users.ts'
import { Problem } from '#lib/problem.ts'
import type { Runtime } from '#lib/platform/runtime.ts'
import { databaseKinds, startTestRuntime, type TestRuntime } from '../helpers/runtime.ts'
import { uniqueUsername } from '../helpers/factories.ts'

const T = new Date('2026-03-01T12:00:00.000Z')
const at = (seconds: number) => new Date(T.getTime() + seconds * 1000)
const HOUR = 3600

describe('sessionEndsAt', () => {
  it.each([
    ['the token exp when the TTL since login ends at the same time', HOUR, HOUR, HOUR],
    ['TTL after the login when the TTL has been lowered since the token was issued', HOUR, 600, 600],
    ['the token exp when the TTL has been raised: a raise never extends a live session', HOUR, 24 * HOUR, HOUR],
    ['the exp when the row expires before TTL after login', 60, HOUR, 60],
  ])('is %s', (_, expiresIn, ttl, endsIn) => {
    expect(sessionEndsAt({ createdAt: T, expiresAt: at(expiresIn) }, ttl)).toEqual(at(endsIn))
  })
})

describe('isSessionExpired', () => {
  const session = { createdAt: T, expiresAt: at(HOUR) }

  it.each([
    ['at the login', 0, false],
    ['one millisecond before exp', HOUR - 0.001, false],
    ['exactly at exp', HOUR, true],
    ['after exp', HOUR + 1, true],
  ])('with an unchanged TTL: %s → expired %s', (_, seconds, expired) => {
    expect(isSessionExpired(session, at(seconds), HOUR)).toBe(expired)
  })

  it.each([
    ['just before TTL after login', 599.999, false],
    ['exactly TTL after login', 600, true],
    ['between the new TTL and exp', 1800, true],
  ])('with the TTL lowered to 600 s: %s → expired %s', (_, seconds, expired) => {
    expect(isSessionExpired(session, at(seconds), 600)).toBe(expired)
  })

  it.each([
    ['just before exp', HOUR - 1, false],
    ['exactly at exp', HOUR, true],
  ])('with the TTL raised to a day: %s → expired %s (exp still binds)', (_, seconds, expired) => {
    expect(isSessionExpired(session, at(seconds), 24 * HOUR)).toBe(expired)
  })

  it('is expired by exp even when the login was recent', () => {
    const moved = { createdAt: at(HOUR - 10), expiresAt: at(HOUR - 5) }
    expect(isSessionExpired(moved, at(HOUR - 6), HOUR)).toBe(false)
    expect(isSessionExpired(moved, at(HOUR - 5), HOUR)).toBe(true)
  })
})

describe('sessions in the database', () => {
  // far in the past, so the sweep below touches no other test file's rows
  const N = new Date('2000-01-01T00:00:00.000Z')
  const plus = (seconds: number) => new Date(N.getTime() + seconds * 1000)
  let t: TestRuntime
  let runtime: Runtime
  beforeAll(async () => {
    t = await startTestRuntime(databaseKinds()[0]!)
    runtime = t.runtime
  })
  afterAll(() => t?.stop())

  const newUser = () => createUser(runtime.db, uniqueUsername('s'), `$2b$10$${'x'.repeat(53)}`, N)
  const code = async (promise: Promise<unknown>) => {
    try {
      await promise
    } catch (error) {
      expect(error).toBeInstanceOf(Problem)
      return (error as Problem).code
    }
    return 'accepted'
  }

  it('starts a session in whole seconds, lasting the TTL, and validates its token without the hash', async () => {
    const user = await newUser()
    const { session, token } = await createSession(runtime.db, user, new Date(N.getTime() + 700), runtime)
    expect(session).toMatchObject({ userId: user.id, createdAt: N, expiresAt: plus(HOUR) })
    const auth = await validateSession(runtime.db, token, plus(10), runtime)
    expect(auth.user).toMatchObject({ id: user.id, username: user.username })
    expect(auth.user).not.toHaveProperty('passwordHash')
    expect(auth.session.id).toBe(session.id)
  })

  it('answers session_expired once TTL has passed since login, when the TTL was lowered after the token was issued', async () => {
    const { token } = await createSession(runtime.db, await newUser(), N, runtime)
    const lowered = {
      ...runtime,
      config: { ...runtime.config, session: { ...runtime.config.session, ttlSeconds: 600 } },
    }
    expect(await code(validateSession(runtime.db, token, plus(599), lowered))).toBe('accepted')
    expect(await code(validateSession(runtime.db, token, plus(600), lowered))).toBe('session_expired')
    expect(await code(validateSession(runtime.db, token, plus(600), runtime))).toBe('accepted')
  })

  it('answers session_expired from the row expiry on, though the token is still inside its clock tolerance', async () => {
    const { token } = await createSession(runtime.db, await newUser(), N, runtime)
    expect(await code(validateSession(runtime.db, token, plus(HOUR - 1), runtime))).toBe('accepted')
    expect(await code(validateSession(runtime.db, token, plus(HOUR), runtime))).toBe('session_expired')
    expect(await code(validateSession(runtime.db, token, plus(HOUR + 120), runtime))).toBe('session_expired')
  })

  it('sweeps rows past their expiry and keeps live ones', async () => {
    const user = await newUser()
    const old = await createSession(runtime.db, user, N, runtime)
    const live = await createSession(runtime.db, user, plus(HOUR), runtime)
    const deleted = await deleteExpiredSessions(runtime.db, plus(HOUR + 1))
    expect(deleted).toBeGreaterThanOrEqual(1)
    const ids = await runtime.db.map(
      'SELECT id FROM sessions WHERE user_id = $1',
      [user.id],
      (row: { id: string }) => row.id,
    )
    expect(ids).toEqual([live.session.id])
    expect(ids).not.toContain(old.session.id)
  })
})
