// GET /dashboard/<username>: the signed-in user's own dashboard: the apps this account may open
// (the gateway's portal, from ACCESS_RULES), the gateway at a glance (admins only: its host details
// are no business of every account open registration lets in) and the account (sign-ins, sessions,
// password). No session: 401 (HTML: 303 to /); someone else's name: 403, whether or not it exists;
// a name no account can have: 404 (docs/api.md).
import * as z from 'zod'
import { defineRoute, route } from '#lib/http/route.ts'
import { dashboardPage, takeNotice, withCookies } from '#lib/http/pages.ts'
import { jsonBodyResult, Timestamp, userJson, UserJson } from '#lib/http/json.ts'
import { jsonOnce } from '#lib/http/json-once.ts'
import { formatDuration, gatewayView } from '#lib/gateway/view.ts'
import { sessionEndsAt } from '#lib/auth/sessions.ts'
import { listLiveSessions, summarizeSessions } from '#lib/auth/session-list.ts'
import { readGateway } from '#lib/gateway/facts.ts'
import { GatewayJson, gatewayJson } from '#lib/gateway/json.ts'
import { usernameKey } from '#lib/auth/validation.ts'
import { ADMINS, isInGroup } from '#lib/auth/groups.ts'
import { appsFor } from '#lib/auth/access.ts'
import { Problem } from '#lib/problem.ts'

const DashboardJson = z.object({
  user: UserJson.extend({
    previous_login_time: Timestamp.nullable().meta({ description: 'The sign-in before the latest one.' }),
  }),
  session: z.object({ signed_in_at: Timestamp, expires_at: Timestamp }),
  sessions: z
    .array(
      z.object({
        id: z
          .string()
          .regex(/^[A-Za-z0-9_-]{22}$/)
          .meta({ description: 'A handle for `POST /sessions/end`.' }),
        created_at: Timestamp,
        expires_at: Timestamp,
        current: z.boolean(),
        sign_in_method: z.enum(['password', 'totp', 'recovery', 'passkey']).meta({
          description: 'How it signed in: the password alone, or with a TOTP code, recovery code or passkey.',
        }),
      }),
    )
    .min(1)
    .meta({ description: "The user's live sessions, newest first; exactly one is `current`." }),
  apps: z
    .array(z.object({ name: z.string(), url: z.url() }))
    .meta({ description: 'The portal: the named apps of `ACCESS_RULES` this account may open, in the file’s order.' }),
  gateway: GatewayJson.nullable().meta({
    description: 'The gateway, for members of `admins` only; others get `null`.',
  }),
})

export const spec = defineRoute({
  keys: ['GET /dashboard/{username}'],
  summary: "The signed-in user's dashboard: the portal's apps, the gateway, sign-ins, sessions, password form",
  description: 'Only the own dashboard: another name, existing or not, is `403 forbidden`.',
  tag: 'session',
  auth: 'required',
  answers: 'page',
  params: { username: { description: "The signed-in user's name, in any letter case.", schema: { type: 'string' } } },
  responses: {
    200: {
      description: 'The user, this session, the live sessions, the apps and the gateway.',
      json: DashboardJson,
      html: true,
    },
  },
  problems: ['forbidden', 'not_found', 'internal_error', 'service_unavailable'],
})

const dashboardBodies = jsonOnce()

export const handler = route(spec, async (event, { config, db, now, accessRules }) => {
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
  const [live, gateway] = await Promise.all([
    listLiveSessions(db, auth.user.id, now, config.session.ttlSeconds),
    // its host details are no business of every account open registration lets in
    isInGroup(auth.user, ADMINS) ? readGateway(db, config, now) : null,
  ])
  const summaries = () => summarizeSessions(live, auth.session.id, now, config.session.ttlSeconds)
  const apps = appsFor(accessRules, auth.user, event.secure ? 'https' : 'http')

  if (event.wantsHtml) {
    const { notice, cookies } = takeNotice(event)
    const page = dashboardPage(
      { ...auth, session: { ...auth.session, expiresAt: endsAt } },
      {
        notice,
        sessions: summaries(),
        gateway: gateway ? gatewayView(gateway) : undefined,
        apps,
        passwordMinLength: config.password.minLength,
        endsIn: formatDuration((endsAt.getTime() - now.getTime()) / 1000),
      },
    )
    return withCookies(page, cookies)
  }
  // the session, its user, the live list, the portal and the gateway's facts are the caches' own
  // objects: while none of them changes, the body is the one already serialised
  const body = dashboardBodies(
    auth.session,
    [auth.user, live, apps, gateway],
    (): z.output<typeof DashboardJson> => ({
      user: { ...userJson(auth.user), previous_login_time: auth.user.previousLoginTime?.toISOString() ?? null },
      session: { signed_in_at: auth.session.createdAt.toISOString(), expires_at: endsAt.toISOString() },
      sessions: summaries().map((s) => ({
        id: s.handle,
        created_at: s.createdAt.toISOString(),
        expires_at: s.endsAt.toISOString(),
        current: s.current,
        sign_in_method: s.signInMethod,
      })),
      apps: apps.map(({ name, url }) => ({ name, url })),
      gateway: gateway ? gatewayJson(gateway) : null,
    }),
  )
  return jsonBodyResult(200, body)
})
