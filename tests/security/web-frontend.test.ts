// ASVS 5.0 V3 Web Frontend Security (Level 1 and 2), black box over HTTP: what no route's scenario
// table shows. What every answer must carry (CSP, nosniff, Referrer-Policy, no framing, COOP and
// CORP, no CORS headers, HSTS over HTTPS, HttpOnly SameSite cookies, `__Host-` and Secure over
// HTTPS, redirects to the service's own paths, nothing inline in a page) is checked on every row of
// every route's table, as Lambda (HTTPS) and over HTTP (tests/helpers/scenarios.ts); docs/security.md
// names the rows. 3.5.1 and 3.5.2 are rows of tests/functions/http-rules.test.ts.
import { describe, expect, it } from 'vitest'
import { strongPassword, uniqueUsername } from '../helpers/factories.ts'
import { CookieJar } from '../helpers/http.ts'
import { expectProblem } from '../helpers/expect.ts'
import { credentialsOf, useService } from '../helpers/service.ts'

const FOREIGN_ORIGIN = 'http://evil.example'
const s = useService()

describe('V3 Web Frontend Security', () => {
  it('3.3.4 the session token reaches the browser only in Set-Cookie (HttpOnly), never in a body or header', async () => {
    const account = await s.register('v3httponly')
    const jar = new CookieJar()
    const login = await s.http.postForm('/login', credentialsOf(account), { jar })
    const token = jar.get('session')!
    expect(token).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/)
    const dashboard = await s.http.getHtml(`/dashboard/${account.username}`, { jar })
    for (const reply of [login, dashboard]) {
      expect(reply.text).not.toContain(token)
      for (const [name, value] of reply.headers) if (name !== 'set-cookie') expect(value, name).not.toContain(token)
    }
  })

  it('3.4.2 grants no CORS preflight, whatever the Origin: a browser never sends the cross-origin request', async () => {
    const account = await s.register('v3cors')
    for (const [path, method, headers] of [
      ['/login', 'POST', 'content-type'],
      [`/dashboard/${account.username}`, 'GET', 'authorization'],
    ]) {
      const preflight = await s.http.call(path!, {
        method: 'OPTIONS',
        headers: {
          origin: FOREIGN_ORIGIN,
          'access-control-request-method': method!,
          'access-control-request-headers': headers!,
        },
      })
      expect(preflight.status).toBe(405)
      expect([...preflight.headers.keys()].filter((name) => name.startsWith('access-control-'))).toEqual([])
    }
  })

  it('3.4.5 the forms post, so credentials never ride in a URL that a Referer could carry', async () => {
    expect((await s.http.getHtml('/')).text).toMatch(/<form[^>]*method="post"[^>]*action="\/login"/i)
    expect((await s.http.getHtml('/register')).text).toMatch(/<form[^>]*method="post"[^>]*action="\/register"/i)
  })

  it('3.5.3 state changes need POST: GET/HEAD with credentials in the query change nothing', async () => {
    const account = await s.register('v3methods')
    const jar = new CookieJar()
    await s.http.postForm('/login', credentialsOf(account), { jar })
    for (const path of ['/logout', '/password']) {
      for (const method of ['GET', 'HEAD']) {
        const reply = await s.http.call(path, { method, jar })
        expect(reply.status, `${method} ${path}`).toBe(405)
        expect(reply.setCookies).toEqual([])
      }
    }
    const login = await s.http.getHtml(`/login?${new URLSearchParams(credentialsOf(account))}`)
    expect([login.status, login.setCookies]).toEqual([200, []])
    const fresh = { username: uniqueUsername('v3get'), password: strongPassword() }
    expect((await s.http.getJson(`/register?${new URLSearchParams(fresh)}`)).status).toBe(200)
    expectProblem(await s.http.postJson('/login', fresh), 401, 'invalid_credentials', [fresh.password])
    // still signed in: GET /logout did not sign out
    expect((await s.http.getHtml(`/dashboard/${account.username}`, { jar })).status).toBe(200)
  })

  it('3.7.2 redirects only to the service’s own paths, whatever a request asks for', async () => {
    const account = await s.register('v3redirect')
    for (const target of ['http://evil.example/', '//evil.example', '/\\evil.example', 'https:evil.example']) {
      const query = new URLSearchParams({ next: target, redirect: target, returnTo: target, return_to: target })
      const login = await s.http.call(`/login?${query}`, {
        method: 'POST',
        form: { ...credentialsOf(account), next: target, redirect: target },
        sameOrigin: true,
      })
      expect([login.status, login.location]).toEqual([303, `/dashboard/${account.username}`])
      const logout = await s.http.call(`/logout?${query}`, { method: 'POST', form: { next: target }, sameOrigin: true })
      expect(logout.location).toBe('/')
      const registered = await s.http.call(`/register?${query}`, {
        method: 'POST',
        form: { username: uniqueUsername('v3r'), password: strongPassword(), next: target },
        sameOrigin: true,
      })
      expect(registered.location).toBe('/login')
    }
  })
})
