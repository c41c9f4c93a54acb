// How a browser carries the token: cookie `session` (HttpOnly, SameSite=Lax, Path=/, Max-Age=TTL),
// or `__Host-session` with Secure when the request came over HTTPS. A gateway is often reached over
// plain HTTP on its LAN, where a Secure cookie would never be stored. Either name is accepted.
// API clients send `Authorization: Bearer <token>` instead, which wins when both are present.
import { parseCookie, stringifySetCookie } from 'cookie'
import type { RouteEvent } from './event.ts'

const PLAIN = 'session'
const SECURE = '__Host-session'

/** The Set-Cookie value carrying a new session token. */
export function sessionCookie(token: string, secure: boolean, ttlSeconds: number): string {
  return stringifySetCookie({
    name: secure ? SECURE : PLAIN,
    value: token,
    httpOnly: true,
    sameSite: 'lax',
    path: '/',
    maxAge: ttlSeconds,
    secure,
  })
}

/** Set-Cookie values that delete the session cookie under both names. */
export function clearSessionCookies(secure: boolean): string[] {
  const clear = (name: string, isSecure: boolean) =>
    stringifySetCookie({ name, value: '', httpOnly: true, sameSite: 'lax', path: '/', maxAge: 0, secure: isSecure })
  // a __Host- cookie can only be set (or cleared) over HTTPS
  return secure ? [clear(PLAIN, false), clear(SECURE, true)] : [clear(PLAIN, false)]
}

type CookieSource = Pick<RouteEvent, 'headers' | 'cookies'> & { cookieValues?: RouteEvent['cookieValues'] }
// parsed once per request by requestContext; an event that has not been through it is parsed here
const cookieJar = (event: CookieSource) =>
  event.cookieValues ?? parseCookie(event.cookies?.length ? event.cookies.join('; ') : (event.headers.cookie ?? ''))

/** One cookie's value, from API Gateway's `cookies` array or the Cookie header. */
export function readCookie(event: CookieSource, name: string): string | undefined {
  return cookieJar(event)[name]
}

/** The bearer token, else the session cookie (from API Gateway's `cookies` or the Cookie header). */
export function readSessionToken(event: CookieSource): string | undefined {
  const authorization = event.headers.authorization
  const bearer = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '')?.[1]
  if (bearer) return bearer
  const jar = cookieJar(event)
  return jar[SECURE] || jar[PLAIN] || undefined
}

/** True when the request carries a session cookie at all (valid or not). */
export function hasSessionCookie(event: CookieSource): boolean {
  const jar = cookieJar(event)
  return jar[SECURE] !== undefined || jar[PLAIN] !== undefined
}
