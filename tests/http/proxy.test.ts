// Behind a trusted proxy (TRUST_PROXY): what the Express adapter makes of X-Forwarded-Proto, over a real
// port: the cookie's name and Secure, and the origin a form must come from.
import { beforeAll, describe, expect, it } from 'vitest'
import { CookieJar, parseSetCookie } from '../helpers/http.ts'
import { credentialsOf as creds, useService } from '../helpers/service.ts'

const TTL = 3600

const s = useService({ env: { TRUST_PROXY: '127.0.0.1' } })

describe('behind a trusted proxy (TRUST_PROXY=127.0.0.1)', () => {
  let https: string
  beforeAll(() => {
    https = s.baseUrl.replace(/^http:/, 'https:')
  })

  it('X-Forwarded-Proto: https → __Host-session with Secure; the service accepts that name; logout clears both', async () => {
    const account = await s.register('proxied')
    const headers = { 'x-forwarded-proto': 'https', 'x-forwarded-for': '198.51.100.7', origin: https }
    const jar = new CookieJar()
    const login = await s.http.call('/login', { method: 'POST', form: creds(account), headers, jar })
    expect(login.status).toBe(303)
    expect(login.setCookies).toHaveLength(1)
    const cookie = parseSetCookie(login.setCookies[0]!)
    expect(cookie.name).toBe('__Host-session')
    expect(cookie.attributes).toEqual({ httponly: '', samesite: 'Lax', path: '/', 'max-age': String(TTL), secure: '' })
    expect(cookie.attributes.domain).toBeUndefined()

    const dashboard = await s.http.getHtml(`/dashboard/${account.username}`, { jar, headers })
    expect(dashboard.status).toBe(200)
    expect(dashboard.text).toContain(account.username)

    const logout = await s.http.call('/logout', { method: 'POST', form: {}, headers, jar })
    expect(logout.status).toBe(303)
    const cleared = logout.setCookies.map(parseSetCookie).filter((c) => !c.name.endsWith('notice'))
    expect(cleared.map((c) => c.name).sort()).toEqual(['__Host-session', 'session'])
    for (const c of cleared) expect(c.attributes['max-age']).toBe('0')
    expect(cleared.find((c) => c.name === '__Host-session')!.attributes.secure).toBe('')
  })

  it('without X-Forwarded-Proto the proxy is plain HTTP: session cookie, no Secure', async () => {
    const account = await s.register('proxyplain')
    const reply = await s.http.postForm('/login', creds(account))
    expect(reply.status).toBe(303)
    expect(parseSetCookie(reply.setCookies[0]!).name).toBe('session')
    expect(parseSetCookie(reply.setCookies[0]!).attributes).not.toHaveProperty('secure')
  })

  it('over HTTPS a form must come from the https origin', async () => {
    const account = await s.register('proxyorigin')
    const reply = await s.http.call('/login', {
      method: 'POST',
      form: creds(account),
      headers: { 'x-forwarded-proto': 'https', origin: s.baseUrl },
    })
    expect(reply.status).toBe(403)
  })
})
