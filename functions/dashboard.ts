// GET /dashboard/<username>: the signed-in user's own dashboard: the apps this account may open
// (the gateway's portal, from ACCESS_RULES), the gateway at a glance (admins only: its host details
// are no business of every account open registration lets in) and the account (sign-ins, sessions,
// password). No session: 401 (HTML: 303 to /); someone else's name: 403, whether or not it exists.
import { route, type HandlerContext, type AuthenticatedEvent } from '#lib/http/route.ts'
import { dashboardPage, takeNotice, withCookies } from '#lib/http/pages.ts'
import { jsonResult, userJson } from '#lib/http/json.ts'
import { formatDuration, gatewayView } from '#lib/http/gateway-view.ts'
import { sessionEndsAt, summarizeSessions } from '#lib/auth/sessions.ts'
import { gatewayJson, readGateway } from '#lib/platform/gateway.ts'
import { ADMINS, isInGroup } from '#lib/auth/groups.ts'
import { appsFor } from '#lib/auth/access.ts'
import { Problem } from '#lib/problem.ts'

async function dashboard(event: AuthenticatedEvent, { config, db, now, accessRules }: HandlerContext) {
  const auth = event.auth
  const requested = event.pathParameters?.username ?? ''
  if (requested.toLowerCase() !== auth.user.username.toLowerCase()) {
    event.log.warn({ event: 'access_denied', userId: auth.user.id }, 'dashboard of another user refused')
    throw new Problem('forbidden', { detail: 'You can only see your own dashboard.' })
  }
  const endsAt = sessionEndsAt(auth.session, config.session.ttlSeconds)
  const sessions = summarizeSessions(auth.liveSessions, auth.session.id, now, config.session.ttlSeconds)
  const gateway = isInGroup(auth.user, ADMINS) ? await readGateway(db, config, now) : null
  const apps = appsFor(accessRules, auth.user, event.secure ? 'https' : 'http')

  if (event.wantsHtml) {
    const { notice, cookies } = takeNotice(event)
    const page = dashboardPage(
      { ...auth, session: { ...auth.session, expiresAt: endsAt } },
      {
        notice,
        sessions,
        gateway: gateway ? gatewayView(gateway) : undefined,
        apps,
        passwordMinLength: config.password.minLength,
        endsIn: formatDuration((endsAt.getTime() - now.getTime()) / 1000),
      },
    )
    return withCookies(page, cookies)
  }
  return jsonResult(200, {
    user: { ...userJson(auth.user), previous_login_time: auth.user.previousLoginTime?.toISOString() ?? null },
    session: { signed_in_at: auth.session.createdAt.toISOString(), expires_at: endsAt.toISOString() },
    sessions: sessions.map((s) => ({
      id: s.handle,
      created_at: s.createdAt.toISOString(),
      expires_at: s.endsAt.toISOString(),
      current: s.current,
    })),
    gateway: gateway ? gatewayJson(gateway) : null,
  })
}

export const handler = route(dashboard, { auth: 'required' })
