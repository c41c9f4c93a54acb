// GET /login/second-factor: the second step's page, for a browser whose password was right (it
// carries the pending sign-in's cookie). Without a live pending sign-in: back to the sign-in page.
// An account with passkeys is offered them where they work, and told why not elsewhere.
import { defineRoute, route } from '#lib/http/route.ts'
import { findPendingSignIn } from '#lib/auth/pending-sign-ins.ts'
import { readPendingSignInCookie } from '#lib/http/pending-cookie.ts'
import { renderHtml } from '#lib/http/render.ts'
import { passkeyOffer } from '#lib/http/passkey-offer.ts'
import { secondFactorsOf } from '#lib/auth/second-factors.ts'

export const spec = defineRoute({
  keys: ['GET /login/second-factor'],
  summary: 'The second step’s page: a code from the authenticator app, or a recovery code',
  tag: 'account',
  answers: 'page',
  page: 'second-factor',
  responses: {
    200: { description: 'The form for the code.', html: true },
    303: {
      description: 'No live pending sign-in (expired, used, another client): to `/login`.',
      headers: ['Location', 'Set-Cookie'],
    },
  },
  problems: ['pending_sign_in_expired', 'internal_error', 'service_unavailable'],
})

export const handler = route(spec, async (event, { db, now }) => {
  const pending = await findPendingSignIn(db, readPendingSignInCookie(event), event.clientIp, now)
  const [passkey, methods] = await Promise.all([
    passkeyOffer(db, pending.userId, event),
    secondFactorsOf(db, pending.userId),
  ])
  return renderHtml('second-factor', { passkey, passkeysOnly: !methods.includes('totp') })
})
