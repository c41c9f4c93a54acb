// GET /dashboard/<username>: the signed-in user's own dashboard: the gateway at a glance and the
// account (sign-ins, sessions, password). No session: 401 (HTML: 303 to /); someone else's name:
// 403, whether or not that account exists; a name no account can have: 404 (docs/api.md).
import { route, type HandlerContext, type AuthenticatedEvent } from '#lib/http/route.ts'
import { dashboardPage, takeNotice, withCookies } from '#lib/http/pages.ts'
import { jsonResult, userJson } from '#lib/http/json.ts'
import { formatDuration, gatewayView } from '#lib/http/gateway-view.ts'
import { sessionEndsAt, summarizeSessions } from '#lib/auth/sessions.ts'
import { gatewayJson, readGateway } from '#lib/platform/gateway.ts'
import { usernameKey } from '#lib/auth/validation.ts'
import { Problem } from '#lib/problem.ts'

async function dashboard(event: AuthenticatedEvent, { config, db, now }: HandlerContext) {
  const auth = event.auth
  // a name no account can have (a Kelvin sign K, a combining mark…) is no dashboard at all, even
  // when JavaScript would lower-case it to the user's own name; another ASCII case is the same name
  const requested = usernameKey(event.pathParameters?.username ?? '')
  if (requested === null) throw new Problem('not_found', { detail: 'No account can have this name.' })
  if (requested !== usernameKey(auth.user.username)) {
    event.log.warn({ event: 'access_denied', userId: auth.user.id }, 'dashboard of another user refused')
    throw new Problem('forbidden', { detail: 'You can only see your own dashboard.' })
  }
  const endsAt = sessionEndsAt(auth.session, config.session.ttlSeconds)
  const sessions = summarizeSessions(auth.liveSessions, auth.session.id, now, config.session.ttlSeconds)
  const gateway = await readGateway(db, config, now)

  if (event.wantsHtml) {
    const { notice, cookies } = takeNotice(event)
    const page = dashboardPage(
      { ...auth, session: { ...auth.session, expiresAt: endsAt } },
      {
        notice,
        sessions,
        gateway: gatewayView(gateway),
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
    gateway: gatewayJson(gateway),
  })
}

export const handler = route(dashboard, { auth: 'required' })
