// GET /dashboard/<username>: the signed-in user's own dashboard. No session: 401 (HTML: 303 to /);
// someone else's name: 403, whether or not that account exists.
import { route, type HandlerContext, type AuthenticatedEvent } from '#lib/http/route.ts'
import { dashboardPage, takeNotice, withCookies } from '#lib/http/pages.ts'
import { jsonResult, userJson } from '#lib/http/json.ts'
import { listSessions, sessionEndsAt } from '#lib/auth/sessions.ts'
import { Problem } from '#lib/problem.ts'

async function dashboard(event: AuthenticatedEvent, { config, db, now }: HandlerContext) {
  const auth = event.auth
  const requested = event.pathParameters?.username ?? ''
  if (requested.toLowerCase() !== auth.user.username.toLowerCase()) {
    event.log.warn({ event: 'access_denied', userId: auth.user.id }, 'dashboard of another user refused')
    throw new Problem('forbidden', { detail: 'You can only see your own dashboard.' })
  }
  const endsAt = sessionEndsAt(auth.session, config.session.ttlSeconds)
  const sessions = await listSessions(db, auth.user.id, auth.session.id, now, config.session.ttlSeconds)

  if (event.wantsHtml) {
    const { notice, cookies } = takeNotice(event)
    return withCookies(dashboardPage({ ...auth, session: { ...auth.session, expiresAt: endsAt } }, { notice, sessions }), cookies)
  }
  return jsonResult(200, {
    user: userJson(auth.user),
    session: { expires_at: endsAt.toISOString() },
    sessions: sessions.map((s) => ({ id: s.handle, created_at: s.createdAt.toISOString(), expires_at: s.endsAt.toISOString(), current: s.current })),
  })
}

export const handler = route(dashboard, { auth: 'required' })
