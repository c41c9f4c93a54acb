// POST /login/second-factor: the second step of a sign-in. The pending sign-in (the browser's
// cookie, or `pending` from a program) names the account whose password was right; a TOTP code or
// a recovery code for that account finishes the sign-in as POST /login would have.
import { defineRoute, route } from '#lib/http/route.ts'
import { secondStepInput } from '#lib/auth/validation.ts'
import { checkSecondFactorCode } from '#lib/auth/second-factors.ts'
import { consumePendingSignIn, findPendingSignIn } from '#lib/auth/pending-sign-ins.ts'
import { revokeAllUserSessions } from '#lib/auth/sessions.ts'
import { readPendingSignInCookie } from '#lib/http/pending-cookie.ts'
import { SIGNED_IN_RESPONSES, signedInAnswer, startSignedInSession } from '#lib/http/signed-in-answer.ts'
import { Problem } from '#lib/problem.ts'

export const spec = defineRoute({
  keys: ['POST /login/second-factor'],
  summary: 'Sign in, second step: a TOTP code or a recovery code for the pending sign-in',
  description:
    'The pending sign-in comes from `POST /login` (`second_factor.pending`, or the browser’s cookie); it lives ' +
    'five minutes, from the client it was given to, and is used up by the sign-in it finishes. A wrong code ' +
    'counts like a wrong password, in counters of its own (`429 rate_limited`). A recovery code ends the ' +
    'account’s other sessions and the answer says how many are left.',
  tag: 'account',
  auth: 'optional',
  answers: 'page',
  page: 'second-factor',
  input: secondStepInput,
  responses: SIGNED_IN_RESPONSES,
  problems: [
    'pending_sign_in_expired',
    'invalid_second_factor',
    'rate_limited',
    'internal_error',
    'service_unavailable',
  ],
})

export const handler = route(spec, async (event, ctx) => {
  const { db, now, throttle } = ctx
  const handle = event.input.pending ?? readPendingSignInCookie(event)
  const pending = await findPendingSignIn(db, handle, event.clientIp, now)
  const attempt = await throttle.startSecondFactorAttempt(pending.username)

  const outcome = await db.tx(async (tx) => {
    const check = await checkSecondFactorCode(tx, pending.userId, event.input.code, now)
    if (!check) return undefined
    await consumePendingSignIn(tx, handle!, event.clientIp, now)
    // a recovery code is the way in after a loss: whoever else holds a session is put out
    if (check.method === 'recovery') await revokeAllUserSessions(tx, pending.userId, now)
    return { check, signedIn: await startSignedInSession(tx, event, ctx, pending.userId, check.method) }
  })
  if (!outcome) {
    const lockoutSeconds = await attempt.failed()
    event.log.warn({ event: 'second_factor_failed', userId: pending.userId, lockoutSeconds }, 'wrong second factor')
    throw new Problem('invalid_second_factor', { detail: 'That code is not right; try the next one.' })
  }
  await attempt.succeeded()
  const { check, signedIn } = outcome
  const left = check.method === 'recovery' ? check.left : undefined
  if (check.method === 'recovery') {
    event.log.warn({ event: 'recovery_code_used', userId: pending.userId, left }, 'recovery code used')
  }
  event.log.info({ event: 'login_succeeded', userId: pending.userId, signInMethod: check.method }, 'login succeeded')
  return signedInAnswer(event, ctx, signedIn, { returnTo: pending.returnTo, recoveryCodesLeft: left })
})
