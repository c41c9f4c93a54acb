// POST /logout: revoke the session on the server and clear the cookie. Idempotent: without a
// (valid) session the answer is the same.
import { route, type HandlerContext, type RouteEvent } from '#lib/http/route.ts'
import { revokeSession } from '#lib/auth/sessions.ts'
import { clearSessionCookies } from '#lib/http/session-cookie.ts'
import { noticeCookie, seeOther } from '#lib/http/pages.ts'

async function logout(event: RouteEvent, { config, db, now }: HandlerContext) {
  if (event.auth) {
    await revokeSession(db, event.auth.session.id, now)
    event.log.info({ event: 'logout', userId: event.auth.user.id }, 'signed out')
  }
  const cookies = clearSessionCookies(event.secure, config.frontDoor.cookieDomain)
  return event.wantsHtml
    ? seeOther('/', [...cookies, noticeCookie('signed_out', event.secure)])
    : { statusCode: 204, cookies }
}

export const handler = route(logout, { auth: 'optional' })
