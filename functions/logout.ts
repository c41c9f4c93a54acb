// POST /logout: revoke the session on the server and clear the cookie. Idempotent: without a
// (valid) session the answer is the same.
import { defineRoute, route } from '#lib/http/route.ts'
import { revokeSession } from '#lib/auth/sessions.ts'
import { clearSessionCookies } from '#lib/http/session-cookie.ts'
import { noticeCookie, seeOther } from '#lib/http/pages.ts'

export const spec = defineRoute({
  keys: ['POST /logout'],
  summary: 'Sign out: end the session on the server and clear the cookie',
  description: 'Idempotent: without a valid session the answer is the same. The body is not read.',
  tag: 'account',
  auth: 'optional',
  answers: 'page',
  responses: {
    204: { description: 'Signed out; the session cookie is cleared.', headers: ['Set-Cookie'] },
    303: { description: 'Form: signed out; to `/`, whose page says so.', headers: ['Location', 'Set-Cookie'] },
  },
  problems: ['internal_error', 'service_unavailable'],
})

export const handler = route(spec, async (event, { db, now }) => {
  if (event.auth) {
    await revokeSession(db, event.auth.session.id, now)
    event.log.info({ event: 'logout', userId: event.auth.user.id }, 'signed out')
  }
  const cookies = clearSessionCookies(event.secure)
  return event.wantsHtml
    ? seeOther('/', [...cookies, noticeCookie('signed_out', event.secure)])
    : { statusCode: 204, cookies }
})
