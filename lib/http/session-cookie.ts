// How a browser carries the token: cookie `session` (HttpOnly, SameSite=Lax, Path=/, Max-Age=TTL),
// or `__Host-session` with Secure when the request came over HTTPS. A gateway is often reached over
// plain HTTP on its LAN, where a Secure cookie would never be stored. Either name is accepted.
// API clients send `Authorization: Bearer <token>` instead, which wins when both are present.
// With COOKIE_DOMAIN (apps on sub-domains, docs/decisions/016) the cookie carries that Domain, and
// over HTTPS it is `__Secure-session`: a `__Host-` cookie may not have a Domain.
import { parseCookie, stringifySetCookie } from 'cookie'
import type { RouteEvent } from './event.ts'

const PLAIN = 'session'
const HOST_ONLY = '__Host-session'
const SHARED = '__Secure-session'

/** The Set-Cookie value carrying a new session token. */
export function sessionCookie(token: string, secure: boolean, ttlSeconds: number, domain?: string): string {
  return stringifySetCookie({
    name: !secure ? PLAIN : domain ? SHARED : HOST_ONLY,
    value: token,
    httpOnly: true,
    sameSite: 'lax',
    path: '/',
    maxAge: ttlSeconds,
    secure,
    ...(domain ? { domain } : {}),
  })
}

/** Set-Cookie values that delete the session cookie under every name (and domain) it may have. */
export function clearSessionCookies(secure: boolean, domain?: string): string[] {
  const clear = (name: string, isSecure: boolean, withDomain?: string) =>
    stringifySetCookie({
      name,
      value: '',
      httpOnly: true,
      sameSite: 'lax',
      path: '/',
      maxAge: 0,
      secure: isSecure,
      ...(withDomain ? { domain: withDomain } : {}),
    })
  const cookies = [clear(PLAIN, false)]
  if (domain) cookies.push(clear(PLAIN, false, domain))
  // a __Host- or __Secure- cookie can only be set (or cleared) over HTTPS
  if (secure) cookies.push(clear(HOST_ONLY, true), ...(domain ? [clear(SHARED, true, domain)] : []))
  return cookies
}

type CookieSource = Pick<RouteEvent, 'headers' | 'cookies'> & { cookieValues?: RouteEvent['cookieValues'] }
// parsed once per request by requestContext; an event that has not been through it is parsed here
const cookieJar = (event: CookieSource) =>
  event.cookieValues ?? parseCookie(event.cookies?.length ? event.cookies.join('; ') : (event.headers.cookie ?? ''))

/** One cookie's value, from API Gateway's `cookies` array or the Cookie header. */
export function readCookie(event: CookieSource, name: string): string | undefined {
  return cookieJar(event)[name]
}

/**
 * The bearer token, else the session cookie (from API Gateway's `cookies` or the Cookie header).
 * `cookieFirst`: the other way round, for forward-auth, where the Authorization header belongs to
 * the app behind the proxy (ChirpStack's UI sends its own bearer token) and our cookie is ours.
 */
export function readSessionToken(event: CookieSource, { cookieFirst = false } = {}): string | undefined {
  const authorization = event.headers.authorization
  const bearer = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '')?.[1] || undefined
  const jar = cookieJar(event)
  const cookie = jar[HOST_ONLY] || jar[SHARED] || jar[PLAIN] || undefined
  return cookieFirst ? (cookie ?? bearer) : (bearer ?? cookie)
}

/** True when the request carries a session cookie at all (valid or not). */
export function hasSessionCookie(event: CookieSource): boolean {
  const jar = cookieJar(event)
  return jar[HOST_ONLY] !== undefined || jar[SHARED] !== undefined || jar[PLAIN] !== undefined
}
