// The session cookie's names and attributes (lib/http/session-cookie.ts, ADR 016): host-only by
// default; with COOKIE_DOMAIN shared with the apps' sub-domains, and then `__Secure-` over HTTPS,
// since a `__Host-` cookie may not carry a Domain.
import { describe, expect, it } from 'vitest'
import { clearSessionCookies, readSessionToken, sessionCookie } from '#lib/http/session-cookie.ts'

describe('the session cookie', () => {
  it.each([
    [false, undefined, 'session=t; Max-Age=60; Path=/; HttpOnly; SameSite=Lax'],
    [true, undefined, '__Host-session=t; Max-Age=60; Path=/; HttpOnly; Secure; SameSite=Lax'],
    [false, 'gateway.local', 'session=t; Max-Age=60; Domain=gateway.local; Path=/; HttpOnly; SameSite=Lax'],
    [
      true,
      'gateway.local',
      '__Secure-session=t; Max-Age=60; Domain=gateway.local; Path=/; HttpOnly; Secure; SameSite=Lax',
    ],
  ])('secure=%s, COOKIE_DOMAIN=%s → %s', (secure, domain, expected) => {
    expect(sessionCookie('t', secure, 60, domain)).toBe(expected)
  })

  it('sign-out clears every name it may have, with and without the domain', () => {
    expect(clearSessionCookies(true, 'gateway.local')).toEqual([
      expect.stringMatching(/^session=; Max-Age=0; Path=\//),
      expect.stringMatching(/^session=; Max-Age=0; Domain=gateway\.local; Path=\//),
      expect.stringMatching(/^__Host-session=; Max-Age=0; Path=\/; HttpOnly; Secure/),
      expect.stringMatching(/^__Secure-session=; Max-Age=0; Domain=gateway\.local; Path=\/; HttpOnly; Secure/),
    ])
    expect(clearSessionCookies(false)).toEqual([expect.stringMatching(/^session=; Max-Age=0; Path=\/; HttpOnly/)])
  })

  it('reads any of the three names; forward-auth prefers the cookie to an app’s bearer token', () => {
    const event = (cookie: string, authorization?: string) => ({ headers: { cookie, authorization } })
    expect(readSessionToken(event('__Secure-session=a'))).toBe('a')
    expect(readSessionToken(event('session=b; __Host-session=c'))).toBe('c')
    expect(readSessionToken(event('session=b', 'Bearer app-token'))).toBe('app-token')
    expect(readSessionToken(event('session=b', 'Bearer app-token'), { cookieFirst: true })).toBe('b')
    expect(readSessionToken(event('', 'Bearer ours'), { cookieFirst: true })).toBe('ours')
  })
})
