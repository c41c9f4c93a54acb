// Forward-auth: a reverse proxy asks, for each request to a protected app, "may this browser open
// this URL?" (docs/front-door.md). Each proxy says what the URL was in its own headers, and they
// are believed only from an address in TRUST_PROXY: from anyone else they could name any URL, so
// the answer is a refusal, never a guess.
//   Caddy forward_auth, Traefik ForwardAuth → GET /auth/verify with X-Forwarded-Proto/-Host/-Uri;
//     any answer but a 2xx goes to the browser as it is, so a 302 to the sign-in page works.
//   nginx auth_request → GET /auth/nginx with X-Original-URL (set by our configuration); nginx
//     understands only 2xx, 401 and 403, so a browser gets 401 with a Location the configuration's
//     error_page follows.
// Each endpoint reads only its proxy's header: a client's own X-Original-URL sent through Caddy
// (which passes it on) cannot name another URL than the one Caddy reports.
import { appName, decideAccess, explainDecision, type Member } from '../auth/access.ts'
import { mustEnrol } from '../auth/second-factors.ts'
import type { Config } from '../platform/config.ts'
import type { Runtime } from '../platform/runtime.ts'
import { logBudgetFor } from '../platform/log-budget.ts'
import { Problem } from '../problem.ts'
import { isTrustedProxy } from './client.ts'
import type { RouteEvent, RouteResult } from './event.ts'
import type { OwnHeader, RouteSpec } from './route-spec.ts'
import { problemJson } from './problem-response.ts'

export type ProxyKind = 'forwarded' | 'nginx'

/** What the 200 carries for the proxy to copy onto the request (documented in both routes' specs). */
export const IDENTITY_HEADERS = [
  { name: 'Remote-User', description: "The signed-in account's username; empty on a `bypass` path." },
  { name: 'Remote-Groups', description: 'Its groups, comma-separated.' },
  { name: 'Remote-Name', description: 'The username again (there is no display name).' },
] as const satisfies readonly OwnHeader[]

/** The sign-in page with `return_to`: absolute, on AUTH_ORIGIN or the app's own origin. */
export const SIGN_IN_LOCATION = {
  name: 'Location',
  description: 'The sign-in page with `return_to`: `<AUTH_ORIGIN or the app origin>/login?return_to=<URL>`.',
} as const satisfies OwnHeader

/** The 401 problem a program (and nginx) gets, as a documented body. */
export const UNAUTHORIZED_BODY = {
  'application/problem+json': { $ref: '#/components/schemas/UnauthorizedProblem' },
} as const

/** What both forward-auth routes say of themselves in their spec. */
export const FORWARD_AUTH_TRUST =
  'Believed only from an address in `TRUST_PROXY`; reads the session cookie before an `Authorization` ' +
  'header (which belongs to the app).'

/** The spec both forward-auth routes share: who may call, how the session is read, what they refuse with. */
export const FORWARD_AUTH_ROUTE = {
  tag: 'front-door',
  auth: 'optional',
  forwardAuth: true,
  answers: 'page',
  problems: [
    'validation_failed',
    'forbidden',
    'second_factor_enrolment_required',
    'internal_error',
    'service_unavailable',
  ],
} as const satisfies Partial<RouteSpec>

const HOST = /^(?:\[[0-9a-f:.]+\]|[a-z0-9_.-]+)(?::\d{1,5})?$/i

const badHeaders = (detail: string) => new Problem('validation_failed', { detail })

/** The URL the browser asked the proxy for; throws forbidden (untrusted peer) or validation_failed. */
export function originalUrl(event: RouteEvent, kind: ProxyKind, config: Pick<Config, 'trustProxy'>): URL {
  const { sourceIp } = event.requestContext.http
  if (!isTrustedProxy(sourceIp, event.requestContext.apiId, config.trustProxy)) {
    throw new Problem('forbidden', {
      detail: config.trustProxy.length
        ? 'Forward-auth answers only the proxies named in TRUST_PROXY; this address is not one of them.'
        : 'Forward-auth answers only the proxies named in TRUST_PROXY, and it names none.',
    })
  }
  const headers = event.headers
  if (kind === 'nginx') {
    const raw = headers['x-original-url'] ?? ''
    const url = /^https?:\/\/[^/\\\s]+\/\S*$/i.test(raw) && URL.canParse(raw) ? new URL(raw) : undefined
    if (!url || url.username || url.password) {
      throw badHeaders('X-Original-URL must be the absolute URL of the request (http(s)://host/path).')
    }
    return url
  }
  const proto = headers['x-forwarded-proto']?.toLowerCase()
  const host = headers['x-forwarded-host'] ?? ''
  const uri = headers['x-forwarded-uri'] ?? ''
  if ((proto !== 'http' && proto !== 'https') || !HOST.test(host) || !/^\/\S*$/.test(uri)) {
    throw badHeaders('X-Forwarded-Proto (http or https), X-Forwarded-Host and X-Forwarded-Uri (/path) are required.')
  }
  const url = URL.canParse(`${proto}://${host}${uri}`) ? new URL(`${proto}://${host}${uri}`) : undefined
  if (!url) throw badHeaders('X-Forwarded-Host and X-Forwarded-Uri do not make a URL.')
  return url
}

/**
 * The 2xx that lets the request through, with the identity the proxy copies onto it. Nobody signed
 * in (a bypass path): the headers are there and empty, because Caddy 2.6 copies a header missing
 * from this answer as the literal text of its placeholder ("{http.reverse_proxy.header.Remote-User}").
 */
export function identityHeaders(member: Member | null): RouteResult {
  return {
    statusCode: 200,
    headers: {
      'remote-user': member?.username ?? '',
      'remote-groups': member?.groups.join(',') ?? '',
      'remote-name': member?.username ?? '',
    },
  }
}

/** A program (JSON, a bearer token) is answered with a problem; only a browser is redirected. */
const isProgram = (event: RouteEvent) => !event.wantsHtml || /^Bearer\s/i.test(event.headers.authorization ?? '')

/**
 * Sends a browser to `location`: behind Caddy or Traefik a 302; behind nginx a 401 problem with the
 * Location, since nginx understands no 302 from auth_request and its error_page follows
 * `auth_request_set … $upstream_http_location` only when there is one.
 */
function redirectBrowser(kind: ProxyKind, location: string, detail: string): RouteResult {
  if (kind === 'forwarded') return { statusCode: 302, headers: { location } }
  const problem = problemJson(new Problem('unauthorized', { detail }))
  return { ...problem, headers: { ...problem.headers, location } }
}

/** Nobody signed in: a program gets a 401 problem (no Location), a browser the sign-in page with return_to. */
export function signInRequired(event: RouteEvent, kind: ProxyKind, url: URL, config: Pick<Config, 'frontDoor'>) {
  const detail = 'Sign in to open this app.'
  if (isProgram(event)) return problemJson(new Problem('unauthorized', { detail }))
  const location = `${config.frontDoor.authOrigin ?? url.origin}/login?return_to=${encodeURIComponent(url.href)}`
  return redirectBrowser(kind, location, detail)
}

/** A session that must set up a second factor: a browser is sent to /security, a program gets a 403 problem. */
function enrolFirst(event: RouteEvent, kind: ProxyKind, url: URL, config: Pick<Config, 'frontDoor'>): RouteResult {
  const detail = 'Set up a second factor at /security first.'
  if (isProgram(event)) return problemJson(new Problem('second_factor_enrolment_required', { detail }))
  return redirectBrowser(kind, `${config.frontDoor.authOrigin ?? url.origin}/security`, detail)
}

/** The whole answer to a proxy's question: through (2xx + identity), sign in first, or 403. */
export function answerForwardAuth(
  event: RouteEvent,
  kind: ProxyKind,
  { config, accessRules, log, now }: Pick<Runtime, 'config' | 'accessRules' | 'log'> & { now: Date },
): RouteResult {
  const url = originalUrl(event, kind, config)
  // an account the policy requires a second factor of opens nothing before it has one
  if (event.auth && mustEnrol(event.auth.user, config.requireSecondFactor)) return enrolFirst(event, kind, url, config)
  const member = event.auth ? { username: event.auth.user.username, groups: event.auth.user.groups } : null
  const decision = decideAccess(accessRules, member, url)
  if (decision.allowed) return identityHeaders(member)
  if (!member && decision.reason === 'not_signed_in') return signInRequired(event, kind, url, config)
  // every request to a closed app asks: a flood of them writes a bounded number of lines, then counts
  if (logBudgetFor(log).admit('app_refused', now.getTime())) {
    event.log.warn({ event: 'app_refused', userId: event.auth?.user.id, reason: decision.reason }, 'app refused')
  }
  const app = decision.rule ? appName(decision.rule) : 'this address'
  throw new Problem('forbidden', {
    detail: member
      ? `You are signed in as ${member.username}, and this account may not open ${app}.`
      : `Nobody may open this: ${explainDecision(decision, null).replace(/^denied: /, '')}.`,
  })
}
