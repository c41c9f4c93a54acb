// POST /login: check the credentials; an account without a second factor is signed in here, one
// with a second factor gets a pending sign-in and goes on to POST /login/second-factor.
import { defineRoute, route } from '#lib/http/route.ts'
import { loginInput } from '#lib/auth/validation.ts'
import { findUserByUsername, updatePasswordHash } from '#lib/auth/users.ts'
import { hashPassword, needsRehash, verifyPassword } from '#lib/auth/password.ts'
import { secondFactorsOf } from '#lib/auth/second-factors.ts'
import { startPendingSignIn } from '#lib/auth/pending-sign-ins.ts'
import { pendingSignInCookie } from '#lib/http/pending-cookie.ts'
import { seeOther } from '#lib/http/pages.ts'
import { SIGNED_IN_RESPONSES, signedInAnswer, startSignedInSession } from '#lib/http/signed-in-answer.ts'
import { pseudonym } from '#lib/platform/log.ts'
import { returnToFromInput } from '#lib/http/return-to.ts'
import { Problem } from '#lib/problem.ts'

export const spec = defineRoute({
  keys: ['POST /login'],
  summary: 'Sign in: check the credentials, then start a session or the second step',
  description:
    'Unknown user and wrong password get one answer (`401 invalid_credentials`) after the same work. Failed ' +
    'sign-ins are throttled per username and client and per client (`429 rate_limited` with `Retry-After`). ' +
    'A session the request already carries is ended and replaced. A form with an accepted `return_to` goes there. ' +
    'An account with a second factor gets no session yet: JSON `401 second_factor_required` with ' +
    '`second_factor.pending`, a form a 303 to `/login/second-factor` (docs/decisions/019-second-factor.md).',
  tag: 'account',
  auth: 'optional',
  answers: 'page',
  page: 'login',
  input: loginInput,
  responses: {
    ...SIGNED_IN_RESPONSES,
    303: {
      ...SIGNED_IN_RESPONSES[303],
      description:
        `${SIGNED_IN_RESPONSES[303].description} ` +
        'An account with a second factor: to `/login/second-factor`, with the pending sign-in’s cookie.',
    },
  },
  problems: ['invalid_credentials', 'second_factor_required', 'rate_limited', 'internal_error', 'service_unavailable'],
})

export const handler = route(spec, async (event, ctx) => {
  const { config, db, now, throttle, hashing } = ctx
  const input = event.input
  const returnTo = returnToFromInput(event, ctx)
  const attempt = await throttle.startLoginAttempt(input.username)

  const user = await findUserByUsername(db, input.username)
  // an unknown user costs the same bcrypt comparison as a wrong password: one path, one answer;
  // a comparison the pool refused (503, 429) checked nothing, so it counts nothing
  const valid = await verifyPassword(hashing, input.password, user?.passwordHash).catch(attempt.withdraw)
  if (!user || !valid) {
    const lockoutSeconds = await attempt.failed()
    // people type passwords into the name field: a name no account has is logged as a keyed hash only
    const who = user
      ? { userId: user.id, username: user.username }
      : { usernameHash: pseudonym(input.username.toLowerCase(), ctx.jwtSecret) }
    event.log.warn({ event: 'login_failed', ...who, lockoutSeconds }, 'login failed')
    throw new Problem('invalid_credentials', { detail: 'Check both and try again.' })
  }
  await attempt.succeeded()
  const rehash = needsRehash(user.passwordHash, config.password.bcryptCost)
    ? await hashPassword(hashing, input.password)
    : undefined

  const { signedIn, pending, methods } = await db.tx(async (tx) => {
    if (rehash) await updatePasswordHash(tx, user.id, rehash)
    const methods = await secondFactorsOf(tx, user.id)
    if (methods.length) {
      const pending = await startPendingSignIn(tx, { userId: user.id, clientIp: event.clientIp, returnTo, now })
      return { pending, methods }
    }
    return { signedIn: await startSignedInSession(tx, event, ctx, user.id, 'password'), methods }
  })
  if (pending) {
    event.log.info({ event: 'login_password_accepted', userId: user.id, methods }, 'second factor asked')
    if (event.wantsHtml) {
      return seeOther('/login/second-factor', [pendingSignInCookie(pending.handle, event.secure, pending.expiresIn)])
    }
    throw new Problem('second_factor_required', {
      detail: 'Send a code from your authenticator app, or a recovery code, to POST /login/second-factor.',
      secondFactor: { pending: pending.handle, methods: [...methods, 'recovery'], expires_in: pending.expiresIn },
    })
  }
  event.log.info({ event: 'login_succeeded', userId: user.id, signInMethod: 'password' }, 'login succeeded')
  return signedInAnswer(event, ctx, signedIn!, { returnTo })
})
