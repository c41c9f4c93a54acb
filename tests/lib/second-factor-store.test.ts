// The stores behind the second step, against the real database with explicit times: a pending
// sign-in is bound to its client (an IPv6 /64 is one client), lives PENDING_SIGN_IN_SECONDS and is
// used once; TOTP steps are used once; recovery codes are compared as typed from paper.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { TOTP } from 'otpauth'
import {
  consumePendingSignIn,
  deleteExpiredPendingSignIns,
  findPendingSignIn,
  PENDING_SIGN_IN_SECONDS,
  startPendingSignIn,
} from '#lib/auth/pending-sign-ins.ts'
import { replaceRecoveryCodes, useRecoveryCode } from '#lib/auth/recovery-codes.ts'
import { matchingStep, startTotpEnrolment, useTotpStep } from '#lib/auth/totp.ts'
import { createUser } from '#lib/auth/users.ts'
import { Problem } from '#lib/problem.ts'
import { databaseKinds, startTestRuntime, type TestRuntime } from '../helpers/runtime.ts'
import { uniqueUsername } from '../helpers/factories.ts'

const T = new Date('2027-01-01T12:00:00.000Z')
const at = (seconds: number) => new Date(T.getTime() + seconds * 1000)
const expired = { code: 'pending_sign_in_expired' }

describe('second-factor stores', () => {
  let test: TestRuntime
  let userId: string
  beforeAll(async () => {
    test = await startTestRuntime(databaseKinds()[0]!)
    userId = (await createUser(test.runtime.db, uniqueUsername('store'), 'x', T)).id
  })
  afterAll(() => test?.stop())

  const start = (clientIp = '192.0.2.7', now = T) =>
    startPendingSignIn(test.runtime.db, { userId, clientIp, returnTo: '/security', now })

  it('a pending sign-in answers its own client until it expires', async () => {
    const { handle, expiresIn } = await start()
    expect(expiresIn).toBe(PENDING_SIGN_IN_SECONDS)
    const db = test.runtime.db
    await expect(findPendingSignIn(db, handle, '192.0.2.7', at(PENDING_SIGN_IN_SECONDS - 1))).resolves.toMatchObject({
      userId,
      returnTo: '/security',
    })
    await expect(findPendingSignIn(db, handle, '192.0.2.8', T)).rejects.toMatchObject(expired)
    await expect(findPendingSignIn(db, handle, '192.0.2.7', at(PENDING_SIGN_IN_SECONDS))).rejects.toMatchObject(expired)
    expect(await deleteExpiredPendingSignIns(db, at(PENDING_SIGN_IN_SECONDS + 1))).toBeGreaterThanOrEqual(1)
  })

  it('an IPv6 client keeps its pending sign-in across addresses of its /64', async () => {
    const { handle } = await start('2001:db8:1:2::10')
    await expect(findPendingSignIn(test.runtime.db, handle, '2001:db8:1:2::99', T)).resolves.toMatchObject({ userId })
    await expect(findPendingSignIn(test.runtime.db, handle, '2001:db8:1:3::10', T)).rejects.toBeInstanceOf(Problem)
  })

  it('is consumed once: the second consumption and any later look-up fail', async () => {
    const { handle } = await start()
    await consumePendingSignIn(test.runtime.db, handle, '192.0.2.7', T)
    await expect(consumePendingSignIn(test.runtime.db, handle, '192.0.2.7', T)).rejects.toMatchObject(expired)
    await expect(findPendingSignIn(test.runtime.db, handle, '192.0.2.7', T)).rejects.toMatchObject(expired)
  })

  it('a handle of the wrong shape is refused without a query', async () => {
    for (const handle of [undefined, '', 'short', `${'A'.repeat(43)}'`]) {
      await expect(findPendingSignIn(test.runtime.db, handle, '192.0.2.7', T)).rejects.toMatchObject(expired)
    }
  })

  it('TOTP: ±1 step, a step used once, and never an earlier one after a later', async () => {
    const db = test.runtime.db
    const secret = (await startTotpEnrolment(db, userId, T))!
    const code = (ms: number) => new TOTP({ secret }).generate({ timestamp: ms })
    const stepOf = (date: Date) => Math.floor(date.getTime() / 30_000)
    expect(await matchingStep(secret, code(T.getTime()), T)).toBe(stepOf(T))
    expect(await matchingStep(secret, code(T.getTime() - 30_000), T)).toBe(stepOf(T) - 1)
    expect(await matchingStep(secret, code(T.getTime() + 30_000), T)).toBe(stepOf(T) + 1)
    expect(await matchingStep(secret, code(T.getTime() + 60_000), T)).toBeNull()
    // a stand-in key for an account without one: the same work, never a match
    expect(await matchingStep(undefined, code(T.getTime()), T)).toBeNull()
    expect(await useTotpStep(db, userId, stepOf(T), T)).toBe(false) // not confirmed yet
    expect(await useTotpStep(db, userId, stepOf(T), T, { confirming: true })).toBe(true)
    expect(await useTotpStep(db, userId, stepOf(T), T)).toBe(false)
    expect(await useTotpStep(db, userId, stepOf(T) - 1, T)).toBe(false)
    expect(await useTotpStep(db, userId, stepOf(T) + 1, T)).toBe(true)
    expect(await startTotpEnrolment(db, userId, T)).toBeNull() // confirmed: no new key over it
  })

  it('recovery codes: as typed from paper (case, spaces, i/l/o), each once, counting down', async () => {
    const db = test.runtime.db
    const codes = await replaceRecoveryCodes(db, userId, T)
    const sloppy = ` ${codes[0]!.toUpperCase().replace(/1/g, 'l').replace(/0/g, 'O').replace(/-/g, ' ')} `
    expect(await useRecoveryCode(db, userId, sloppy, T)).toBe(9)
    expect(await useRecoveryCode(db, userId, codes[0]!, T)).toBeNull()
    expect(await useRecoveryCode(db, userId, codes[1]!, T)).toBe(8)
    expect(await useRecoveryCode(db, userId, 'aaaa-bbbb-cccc-dddd-eeee-ffff', T)).toBeNull()
    await replaceRecoveryCodes(db, userId, T)
    expect(await useRecoveryCode(db, userId, codes[2]!, T)).toBeNull()
  })
})
