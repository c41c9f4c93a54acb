// POST /login/second-factor/passkey: the second step with a passkey. The authenticator's answer
// must sign the pending sign-in's open challenge with one of its account's passkeys at this name;
// then the sign-in finishes as POST /login would have, its session marked `passkey`.
import { defineRoute, route } from '#lib/http/route.ts'
import { passkeySignInInput } from '#lib/auth/passkey-input.ts'
import { PasskeyRejected, verifyPasskeySignIn } from '#lib/auth/passkeys.ts'
import { consumePendingSignIn, findPendingSignIn } from '#lib/auth/pending-sign-ins.ts'
import { readPendingSignInCookie } from '#lib/http/pending-cookie.ts'
import { pendingHolder } from '#lib/http/passkey-guard.ts'
import { SIGNED_IN_RESPONSES, signedInAnswer, startSignedInSession } from '#lib/http/signed-in-answer.ts'

export const spec = defineRoute({
  keys: ['POST /login/second-factor/passkey'],
  summary: 'Sign in, second step with a passkey: the authenticator’s answer for the pending sign-in',
  description:
    '`response` is `PublicKeyCredential.toJSON()` of `navigator.credentials.get()` with the options of ' +
    '`POST /login/second-factor/passkey/options`, as an object or as JSON text. A refused answer uses the ' +
    'challenge up and counts like a wrong code (`429 rate_limited`).',
  tag: 'account',
  auth: 'optional',
  answers: 'page',
  page: 'second-factor',
  input: passkeySignInInput,
  responses: SIGNED_IN_RESPONSES,
  problems: ['pending_sign_in_expired', 'passkey_rejected', 'rate_limited', 'internal_error', 'service_unavailable'],
})

export const handler = route(spec, async (event, ctx) => {
  const { db, now, throttle } = ctx
  const handle = event.input.pending ?? readPendingSignInCookie(event)
  const pending = await findPendingSignIn(db, handle, event.clientIp, now)
  const attempt = await throttle.startSecondFactorAttempt(pending.username)
  const passkey = await verifyPasskeySignIn(db, pendingHolder(pending, handle!), event.input.response, now).catch(
    async (error: unknown) => {
      if (!(error instanceof PasskeyRejected)) return attempt.withdraw(error)
      const lockoutSeconds = await attempt.failed()
      const reason = error.reason
      event.log.warn({ event: 'passkey_rejected', step: 'sign_in', userId: pending.userId, reason, lockoutSeconds })
      throw error
    },
  )
  const signedIn = await db.tx(async (tx) => {
    await consumePendingSignIn(tx, handle!, event.clientIp, now)
    return startSignedInSession(tx, event, ctx, pending.userId, 'passkey')
  })
  await attempt.succeeded()
  event.log.info(
    { event: 'login_succeeded', userId: pending.userId, method: 'passkey', passkeyId: passkey.id },
    'login succeeded',
  )
  return signedInAnswer(event, ctx, signedIn, { returnTo: pending.returnTo })
})
