// GET /login/second-factor: the second step's page, for a browser whose password was right (it
// carries the pending sign-in's cookie). Without a live pending sign-in: back to the sign-in page.
import { defineRoute, route } from '#lib/http/route.ts'
import { findPendingSignIn } from '#lib/auth/pending-sign-ins.ts'
import { readPendingSignInCookie } from '#lib/http/pending-cookie.ts'
import { renderHtml } from '#lib/http/render.ts'

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
  await findPendingSignIn(db, readPendingSignInCookie(event), event.clientIp, now)
  return renderHtml('second-factor', {})
})
