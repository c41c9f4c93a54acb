// The service's pages and how an error shows on them: the page the user was on is rendered again
// with a readable message and what they typed (never a password), under the same status JSON
// would get. A missing or ended session on a page sends the browser to the login page instead.
import type { Auth, RouteEvent, RouteResult } from './event.ts'
import type { SessionSummary } from '../auth/session-list.ts'
import { signInsOf } from '../auth/sign-ins.ts'
import type { GatewayView } from '../gateway/view.ts'
import type { PortalApp } from '../auth/access.ts'
import { PROBLEMS, type Problem } from '../problem.ts'
import { renderHtml } from './render.ts'
import { clearSessionCookies, readCookie } from './session-cookie.ts'
import { stringifySetCookie } from 'cookie'
import type { Config } from '../platform/config.ts'
import type { Queryable } from '../platform/database.ts'
import { clearPendingSignInCookie } from './pending-cookie.ts'
import { securityPage, securityState } from './security-page.ts'

/** Fixed texts a redirect can leave for the next page (cookie `notice`): only these keys are ever shown. */
export const NOTICES = {
  registered: 'Your account was created. Sign in to continue.',
  expired: 'Your session expired. Please sign in again.',
  signed_out: 'You are signed out.',
  password_changed: 'Your password was changed. Other sessions were signed out.',
  sessions_ended: 'The sessions you chose were signed out.',
  forwarder_restarting:
    'Restart requested: the packet forwarder is restarting; LoRaWAN traffic resumes in a few seconds.',
  passkey_added: 'Your passkey was added. Other sessions were signed out.',
  passkey_renamed: 'Your passkey was renamed.',
  passkey_removed: 'Your passkey was removed. Other sessions were signed out.',
  recovery_code_used:
    'You signed in with a recovery code; it cannot be used again. Other sessions were signed out. ' +
    'Make new codes below if few are left.',
  totp_removed: 'The authenticator app was removed, with its recovery codes. Other sessions were signed out.',
  sign_in_expired: 'That sign-in expired or was already used. Please sign in again.',
} as const
export type Notice = keyof typeof NOTICES

// A short-lived cookie rather than a query string keeps the redirect targets exactly /, /login and
// /dashboard/<name>, and keeps the message out of URLs that get bookmarked or shared.
// over HTTPS the notice is a __Host- cookie with Secure, like the session (ASVS 3.3.1, 3.3.3)
const noticeCookieName = (secure: boolean) => (secure ? '__Host-notice' : 'notice')
const noticeAttributes = (secure: boolean) => ({ httpOnly: true, sameSite: 'lax', path: '/', secure }) as const

/** Set-Cookie that leaves `notice` for the next page the browser loads. */
export const noticeCookie = (notice: Notice, secure: boolean) =>
  stringifySetCookie({ name: noticeCookieName(secure), value: notice, ...noticeAttributes(secure), maxAge: 60 })

/** The notice left for this page, if any, and the Set-Cookie that consumes it. */
export function takeNotice(event: Pick<RouteEvent, 'headers' | 'cookies' | 'secure'>): {
  notice?: string
  cookies: string[]
} {
  const name = noticeCookieName(event.secure)
  const key = readCookie(event, name)
  if (key === undefined) return { cookies: [] }
  const consumed = stringifySetCookie({ name, value: '', ...noticeAttributes(event.secure), maxAge: 0 })
  return { notice: Object.hasOwn(NOTICES, key) ? NOTICES[key as Notice] : undefined, cookies: [consumed] }
}

/** The result with the Set-Cookie lines added (none: the result unchanged). */
export const withCookies = (result: RouteResult, cookies: string[]): RouteResult =>
  cookies.length ? { ...result, cookies: [...(result.cookies ?? []), ...cookies] } : result

interface PageView {
  notice?: string
  error?: { title: string; detail?: string; code?: string; retryAt?: Date }
  errors?: Record<string, string>
  values?: Record<string, string>
  /** The username of a valid session, when the error page can offer the way back to its dashboard. */
  signedInAs?: string
  /** The sign-in page links to registration only while it is open. */
  registrationOpen?: boolean
  /** REGISTRATION=first and no account yet: whoever registers now owns the gateway. */
  firstAccount?: boolean
}

export const loginPage = (view: PageView = {}, status = 200) => renderHtml('login', view, status)
export const registerPage = (passwordMinLength: number, view: PageView = {}, status = 200) =>
  renderHtml('register', { ...view, passwordMinLength }, status)
interface DashboardView {
  passwordMinLength: number
  sessions?: SessionSummary[]
  gateway?: GatewayView
  /** How long until the session ends, in words. */
  endsIn?: string
  /** The apps of the gateway this account may open (the portal). */
  apps?: readonly PortalApp[]
}

// how a session signed in, as the sessions list says it
const SIGN_IN_METHODS = {
  password: 'with the password',
  totp: 'with the password and the app',
  recovery: 'with the password and a recovery code',
  passkey: 'with the password and a passkey',
} as const

/** The dashboard; `sessions` and `gateway` are left out when an error re-renders it. */
export function dashboardPage(auth: Auth, view: PageView & DashboardView, status = 200) {
  const signIns = signInsOf(auth.user, auth.session)
  const signInMethods = SIGN_IN_METHODS
  return renderHtml('dashboard', { ...view, user: auth.user, session: auth.session, signIns, signInMethods }, status)
}

/** A 303 to `location`, optionally with Set-Cookie values. */
export const seeOther = (location: string, cookies?: string[]): RouteResult => ({
  statusCode: 303,
  headers: { location },
  ...(cookies ? { cookies } : {}),
})

// Only what the user typed into non-secret fields (and where to go after) comes back into the form.
const KEPT_FIELDS = ['username', 'return_to', 'name']

type ErrorPageConfig = Pick<Config, 'password' | 'registration' | 'frontDoor' | 'requireSecondFactor'>

/** The HTML answer for a problem raised while serving `event`. */
export async function renderErrorPage(
  event: RouteEvent,
  problem: Problem,
  runtime?: { config: ErrorPageConfig; db: Queryable },
): Promise<RouteResult> {
  const config = runtime?.config
  const [status, title] = PROBLEMS[problem.code]
  if (problem.code === 'pending_sign_in_expired') {
    return seeOther('/login', [clearPendingSignInCookie(event.secure), noticeCookie('sign_in_expired', event.secure)])
  }
  if (problem.code === 'second_factor_enrolment_required') {
    // the security page itself says why the account is there
    return seeOther('/security')
  }
  if (problem.code === 'unauthorized' || problem.code === 'session_expired') {
    const cookies = clearSessionCookies(event.secure, config?.frontDoor.cookieDomain)
    if (problem.code === 'session_expired') cookies.push(noticeCookie('expired', event.secure))
    return seeOther('/', cookies)
  }
  const view: PageView = {
    error: {
      title,
      detail: status < 500 ? problem.extra.detail : undefined,
      code: problem.code,
      retryAt: retryAt(event, problem),
    },
    errors: Object.fromEntries((problem.extra.errors ?? []).map((e) => [e.field, e.message])),
    values: keptValues(event.body),
    signedInAs: event.auth?.user.username,
  }
  const page = pageFor(event, runtime)
  const generic = () => renderHtml('error', { ...view, status }, status)
  // a page that reads the database cannot show an error of the database: the generic page does
  const result = page ? await Promise.resolve(page(view, status)).catch(generic) : generic()
  result.headers = { ...result.headers, ...problem.extra.headers }
  return result
}

function pageFor(event: RouteEvent, runtime: { config: ErrorPageConfig; db: Queryable } | undefined) {
  const { page, auth } = event
  const config = runtime?.config
  if (page === 'second-factor') return (view: PageView, status: number) => renderHtml('second-factor', view, status)
  if (page === 'security' && auth && runtime) {
    return async (view: PageView, status: number) => {
      const host = event.headers.host ?? event.requestContext.domainName
      const state = await securityState(runtime.db, runtime.config, auth, host, event.secure)
      return securityPage(auth, state, host, view, status)
    }
  }
  // without a query here, the link shows on a re-rendered sign-in page only under REGISTRATION=open
  if (page === 'login') {
    return (view: PageView, status: number) =>
      loginPage({ ...view, registrationOpen: config?.registration === 'open' }, status)
  }
  if (page === 'register' && config) {
    const firstAccount = config.registration === 'first'
    return (view: PageView, status: number) =>
      registerPage(config.password.minLength, { ...view, firstAccount }, status)
  }
  if (page === 'dashboard' && auth && config) {
    const passwordMinLength = config.password.minLength
    return (view: PageView, status: number) => dashboardPage(auth, { ...view, passwordMinLength }, status)
  }
  return undefined
}

// 429 and 503 say when to come back; the page shows it as a time as well as the header's seconds
function retryAt(event: RouteEvent, problem: Problem): Date | undefined {
  const seconds = Number(problem.extra.headers?.['retry-after'])
  if (!Number.isFinite(seconds) || seconds <= 0) return undefined
  return new Date((event.receivedAt ?? new Date()).getTime() + seconds * 1000)
}

function keptValues(body: unknown): Record<string, string> {
  if (!body || typeof body !== 'object') return {}
  const fields = body as Record<string, unknown>
  return Object.fromEntries(KEPT_FIELDS.flatMap((f) => (typeof fields[f] === 'string' ? [[f, fields[f]]] : [])))
}
