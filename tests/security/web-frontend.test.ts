// ASVS 5.0 V3 Web Frontend Security (Level 1 and 2), black box over HTTP: one test per
// requirement, named by its ID. The service runs behind a "proxy" (TRUST_PROXY=127.0.0.1), so a
// request with X-Forwarded-Proto: https is an HTTPS request and one without it plain HTTP on a LAN.
// The header requirements are checked on every kind of response the service makes, errors included
// (429 is covered by tests/security/throttling.test.ts, 503 by tests/http/health.test.ts).
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { databaseKinds } from '../helpers/runtime.ts'
import { strongPassword, uniqueUsername } from '../helpers/factories.ts'
import { client, CookieJar, parseSetCookie, type Client, type Reply } from '../helpers/http.ts'
import { expectProblem } from '../helpers/expect.ts'
import { withoutOwnScript } from '../helpers/page-script.ts'
import { startService, type TestService } from '../helpers/service.ts'

const FOREIGN_ORIGIN = 'http://evil.example'
const ONE_YEAR = 365 * 24 * 3600

/** A type alias (not an interface) so an account is also a form's fields. */
type Account = { username: string; password: string }

/** The CSP as directive → value. */
function cspDirectives(reply: Reply): Map<string, string> {
  const csp = reply.headers.get('content-security-policy') ?? ''
  return new Map(
    csp
      .split(';')
      .map((d) => d.trim())
      .filter(Boolean)
      .map((d) => {
        const [name = '', ...values] = d.split(/\s+/)
        return [name.toLowerCase(), values.join(' ')] as const
      }),
  )
}

/** 403 cross_origin_rejected: problem JSON for JSON bodies, the error page for forms. */
function _expectCrossOriginRefused(reply: Reply, label: string): void {
  expect(reply.status, label).toBe(403)
  if (reply.contentType.startsWith('text/html')) expect(reply.text, label).toContain('Cross-origin request rejected')
  else expectProblem(reply, 403, 'cross_origin_rejected')
  expect(reply.setCookies, label).toEqual([])
}

/** Runs `check` on every reply, naming the one that fails. */
function forEach(replies: [string, Reply][], check: (reply: Reply, label: string) => void): void {
  expect(replies.length).toBeGreaterThan(20)
  for (const [label, reply] of replies) check(reply, label)
}

describe('V3 Web Frontend Security', () => {
  const kind = databaseKinds()[0]!
  let service: TestService
  let http: Client
  let httpsOrigin: string
  /** Headers that make a request arrive over HTTPS through the trusted proxy. */
  const overHttps = { 'x-forwarded-proto': 'https' }
  let plain: [string, Reply][]
  let secure: [string, Reply][]

  beforeAll(async () => {
    service = await startService({ kind, env: { TRUST_PROXY: '127.0.0.1' } })
    http = client(service.baseUrl)
    httpsOrigin = service.baseUrl.replace(/^http:/, 'https:')
    plain = await everyKindOfResponse({}, service.baseUrl)
    secure = await everyKindOfResponse(overHttps, httpsOrigin)
  })
  afterAll(async () => {
    await service?.stop()
  })

  async function register(prefix = 'v3'): Promise<Account> {
    const account = { username: uniqueUsername(prefix), password: strongPassword() }
    expect((await http.postJson('/register', account)).status).toBe(201)
    return account
  }

  /** One reply of every kind the service gives: pages, JSON, static, redirects and each error status. */
  async function everyKindOfResponse(headers: Record<string, string>, origin: string): Promise<[string, Reply][]> {
    const account = await register()
    const other = await register()
    const jar = new CookieJar()
    const form = (path: string, fields: Record<string, string>, extra: Record<string, string> = {}) =>
      http.call(path, { method: 'POST', form: fields, headers: { ...headers, origin, ...extra }, jar })
    const replies: [string, Reply][] = []
    const add = async (label: string, reply: Promise<Reply>) => replies.push([label, await reply])

    await add('200 login page', http.getHtml('/', { headers }))
    await add('200 registration page', http.getHtml('/register', { headers }))
    await add('200 JSON index', http.getJson('/', { headers }))
    await add('200 health', http.getJson('/health', { headers }))
    await add('200 stylesheet', http.get('/static/style.css', { headers }))
    await add(
      '201 registration',
      http.postJson('/register', { username: uniqueUsername('v3'), password: strongPassword() }, { headers }),
    )
    await add('303 form login', form('/login', account))
    const token = (await http.postJson('/login', account, { headers })).json.access_token as string
    await add('200 dashboard page', http.getHtml(`/dashboard/${account.username}`, { headers, jar }))
    await add('200 dashboard JSON', http.getJson(`/dashboard/${account.username}`, { headers, bearer: token }))
    await add('303 dashboard without a session', http.getHtml(`/dashboard/${account.username}`, { headers }))
    await add('204 logout without a session', http.postJson('/logout', {}, { headers }))
    await add(
      '400 malformed JSON',
      http.call('/login', {
        method: 'POST',
        body: '{"username":',
        headers: { ...headers, 'content-type': 'application/json' },
      }),
    )
    await add('400 invalid registration form', form('/register', { username: 'x', password: 'y' }))
    await add(
      '401 wrong password (JSON)',
      http.postJson('/login', { ...account, password: `${account.password}!` }, { headers }),
    )
    await add('401 wrong password (form)', form('/login', { ...account, password: `${account.password}!` }))
    await add('401 no token', http.getJson(`/dashboard/${account.username}`, { headers }))
    await add('401 invalid token', http.getJson(`/dashboard/${account.username}`, { headers, bearer: 'not.a.token' }))
    await add('403 another user (JSON)', http.getJson(`/dashboard/${other.username}`, { headers, bearer: token }))
    await add('403 another user (page)', http.getHtml(`/dashboard/${other.username}`, { headers, jar }))
    await add('403 cross-origin form', form('/login', account, { origin: FOREIGN_ORIGIN }))
    await add('404 page', http.getHtml('/nope', { headers }))
    await add('404 JSON', http.getJson('/nope', { headers }))
    await add('404 static file', http.get('/static/nope.css', { headers }))
    await add('405 JSON', http.call('/health', { method: 'PUT', headers: { ...headers, accept: 'application/json' } }))
    await add('405 page', http.getHtml('/logout', { headers }))
    await add('405 OPTIONS', http.call('/login', { method: 'OPTIONS', headers }))
    await add('413 JSON', http.postJson('/login', { ...account, pad: 'x'.repeat(17 * 1024) }, { headers }))
    await add('413 form', form('/login', { ...account, pad: 'x'.repeat(17 * 1024) }))
    await add(
      '415',
      http.call('/login', {
        method: 'POST',
        body: 'hello',
        headers: { ...headers, 'content-type': 'text/plain', accept: 'application/json' },
      }),
    )
    await add('303 form logout', form('/logout', {}))
    // every status above must really have been produced, or the sweep checks less than it says
    for (const [label, reply] of replies) expect(reply.status, label).toBe(Number(label.slice(0, 3)))
    return replies
  }

  describe('3.2 Unintended content interpretation', () => {
    it('3.2.1 labels every body with its real type, isolates documents from other origins', async () => {
      // a JSON or CSS response opened directly must not be rendered as a page, and no response may
      // be embedded by, or share a browsing context with, another origin
      forEach([...plain, ...secure], (reply, label) => {
        if (reply.status === 204 || reply.status === 303) return
        expect(reply.contentType, label).toMatch(
          /^(text\/html; charset=utf-8|application\/(problem\+)?json|text\/css; charset=utf-8)/,
        )
        if (reply.contentType.startsWith('text/html')) expect(reply.text, label).toMatch(/^<!doctype html>/i)
        else expect(reply.text, label).not.toMatch(/<html|<body|<script/i)
        expect(cspDirectives(reply).get('default-src'), label).toBe("'none'")
        expect(reply.headers.get('cross-origin-resource-policy'), label).toBe('same-origin')
        expect(reply.headers.get('cross-origin-opener-policy'), label).toBe('same-origin')
      })
      // JSON stays JSON whatever the browser asks for
      const health = await http.getHtml('/health')
      expect(health.contentType).toMatch(/^application\/json/)
    })
  })

  describe('3.3 Cookie setup', () => {
    /** Every Set-Cookie of a whole browser session over HTTPS: register, sign in, change password, sign out. */
    async function cookiesOverHttps(): Promise<ReturnType<typeof parseSetCookie>[]> {
      const account = { username: uniqueUsername('v3cookie'), password: strongPassword() }
      const jar = new CookieJar()
      const headers = { ...overHttps, origin: httpsOrigin }
      const replies = [
        await http.call('/register', { method: 'POST', form: account, headers, jar }),
        await http.call('/login', { method: 'POST', form: account, headers, jar }),
        await http.call('/password', {
          method: 'POST',
          form: { current_password: account.password, new_password: strongPassword() },
          headers,
          jar,
        }),
        await http.call('/logout', { method: 'POST', form: {}, headers, jar }),
      ]
      for (const reply of replies) expect(reply.status).toBe(303)
      return replies.flatMap((reply) => reply.setCookies.map(parseSetCookie))
    }

    it('3.3.2 every cookie is SameSite (Lax); cross-site POSTs are refused separately (3.5.1)', async () => {
      const all = [...(await cookiesOverHttps()), ...plain.flatMap(([, reply]) => reply.setCookies.map(parseSetCookie))]
      expect(all.some((c) => c.name === 'session' && c.value)).toBe(true)
      for (const cookie of all) expect(cookie.attributes.samesite, cookie.name).toMatch(/^(Lax|Strict)$/)
    })

    it('3.3.4 cookies are HttpOnly, and the session token reaches the browser only in Set-Cookie', async () => {
      const all = [...(await cookiesOverHttps()), ...plain.flatMap(([, reply]) => reply.setCookies.map(parseSetCookie))]
      for (const cookie of all) expect(cookie.attributes, cookie.name).toHaveProperty('httponly', '')
      // a browser sign-in: the token is in the cookie and nowhere in the bodies or other headers
      const account = await register('v3httponly')
      const jar = new CookieJar()
      const login = await http.postForm('/login', account, { jar })
      const token = jar.get('session')!
      expect(token).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/)
      const dashboard = await http.getHtml(`/dashboard/${account.username}`, { jar })
      for (const reply of [login, dashboard]) {
        expect(reply.text).not.toContain(token)
        for (const [name, value] of reply.headers) if (name !== 'set-cookie') expect(value, name).not.toContain(token)
      }
    })
  })

  describe('3.4 Browser security mechanism headers', () => {
    it('3.4.1 over HTTPS every response carries HSTS with a max-age of at least a year', () => {
      forEach(secure, (reply, label) => {
        const hsts = reply.headers.get('strict-transport-security') ?? ''
        const maxAge = Number(/(?:^|;)\s*max-age=(\d+)/i.exec(hsts)?.[1] ?? 0)
        expect(maxAge, `${label}: ${hsts}`).toBeGreaterThanOrEqual(ONE_YEAR)
      })
      // NOTE: includeSubDomains (the L2 clause) is deliberately off: a gateway's hostname is often
      // a LAN name whose sub-domains belong to other devices (accepted gap, docs/security.md).
    })

    it('3.4.2 never answers with CORS headers, whatever the Origin, preflight included', async () => {
      const account = await register('v3cors')
      const token = (await http.postJson('/login', account)).json.access_token as string
      const origin = { origin: FOREIGN_ORIGIN }
      const replies = [
        await http.getJson('/', { headers: origin }),
        await http.postJson('/login', account, { headers: origin }),
        await http.getJson(`/dashboard/${account.username}`, { headers: origin, bearer: token }),
        await http.call('/login', {
          method: 'OPTIONS',
          headers: {
            ...origin,
            'access-control-request-method': 'POST',
            'access-control-request-headers': 'content-type',
          },
        }),
        await http.call(`/dashboard/${account.username}`, {
          method: 'OPTIONS',
          headers: {
            ...origin,
            'access-control-request-method': 'GET',
            'access-control-request-headers': 'authorization',
          },
        }),
      ]
      for (const reply of [...replies, ...plain.map(([, r]) => r)]) {
        for (const [name] of reply.headers) expect(name).not.toMatch(/^access-control-/)
      }
      // the preflight is refused, so a browser never sends the real cross-origin request
      expect(replies[3]!.status).toBe(405)
    })

    it("3.4.3 every response has a CSP with object-src 'none', base-uri 'none' and script only from the service's own files", () => {
      forEach([...plain, ...secure], (reply, label) => {
        const csp = cspDirectives(reply)
        expect(csp.get('object-src'), label).toBe("'none'")
        expect(csp.get('base-uri'), label).toBe("'none'")
        // the optional page script, /static/app.js; nosniff keeps any other response from running as one
        expect(csp.get('script-src'), label).toBe("'self'")
        expect(csp.get('default-src'), label).toBe("'none'")
        expect(csp.get('form-action'), label).toBe("'self'")
        for (const [name, value] of csp) expect(`${name} ${value}`, label).not.toMatch(/unsafe-|\*|https?:/)
        expect(reply.headers.get('content-security-policy-report-only'), label).toBeNull()
      })
    })

    it('3.4.4 every response has X-Content-Type-Options: nosniff; static files have their real type', async () => {
      forEach([...plain, ...secure], (reply, label) => {
        expect(reply.headers.get('x-content-type-options'), label).toBe('nosniff')
      })
      const css = await http.get('/static/style.css')
      expect(css.contentType).toBe('text/css; charset=utf-8')
      expect(css.headers.get('x-content-type-options')).toBe('nosniff')
    })

    it('3.4.5 every response has a Referrer-Policy that never sends paths elsewhere; secrets never ride in URLs', async () => {
      forEach([...plain, ...secure], (reply, label) => {
        expect(reply.headers.get('referrer-policy'), label).toMatch(
          /^(same-origin|strict-origin|strict-origin-when-cross-origin|no-referrer)$/,
        )
      })
      // the forms post (credentials in the body), and no redirect puts anything in a query string
      const page = await http.getHtml('/')
      expect(page.text).toMatch(/<form[^>]*method="post"[^>]*action="\/login"/i)
      expect((await http.getHtml('/register')).text).toMatch(/<form[^>]*method="post"[^>]*action="\/register"/i)
      forEach([...plain, ...secure], (reply, label) => {
        if (reply.location) expect(reply.location, label).toMatch(/^\/[^?#]*$/)
      })
      // a token in the query string is not a credential: authentication.test.ts 6.3.4
    })

    it("3.4.6 every response forbids framing with frame-ancestors 'none'", () => {
      forEach([...plain, ...secure], (reply, label) => {
        expect(cspDirectives(reply).get('frame-ancestors'), label).toBe("'none'")
        expect(reply.headers.get('x-frame-options'), label).toBe('DENY')
      })
    })
  })

  describe('3.5 Browser origin separation', () => {
    // 3.5.1 and 3.5.2 (cross-origin requests refused, what skips the check needs a preflight): the
    // cross-origin and request-body rows of tests/functions/http-rules.test.ts, as Lambda and over HTTP
    it('3.5.3 state changes need POST: GET/HEAD with credentials in the query change nothing', async () => {
      const account = await register('v3methods')
      const jar = new CookieJar()
      await http.postForm('/login', account, { jar })
      for (const path of ['/logout', '/password']) {
        for (const method of ['GET', 'HEAD']) {
          const reply = await http.call(path, { method, jar })
          expect(reply.status, `${method} ${path}`).toBe(405)
          expect(reply.setCookies).toEqual([])
        }
      }
      const query = new URLSearchParams(account).toString()
      const login = await http.getHtml(`/login?${query}`)
      expect(login.status).toBe(200)
      expect(login.setCookies).toEqual([])
      const fresh = { username: uniqueUsername('v3get'), password: strongPassword() }
      expect((await http.getJson(`/register?${new URLSearchParams(fresh)}`)).status).toBe(200)
      expectProblem(await http.postJson('/login', fresh), 401, 'invalid_credentials', [fresh.password])
      // still signed in: GET /logout did not sign out
      expect((await http.getHtml(`/dashboard/${account.username}`, { jar })).status).toBe(200)
    })
  })

  describe('3.7 Other browser security considerations', () => {
    it("3.7.1 pages use no plugin, embedded frame or inline script: only the service's own script file", () => {
      const pages = [...plain, ...secure].filter(([, reply]) => reply.contentType.startsWith('text/html'))
      expect(pages.length).toBeGreaterThan(10)
      for (const [label, page] of pages) {
        expect(withoutOwnScript(page.text), label).not.toMatch(/<(script|object|embed|applet|iframe|frame)\b/i)
        expect(page.text, label).not.toMatch(/\son\w+\s*=/i)
        expect(page.text, label).not.toMatch(/javascript:/i)
      }
    })

    it('3.7.2 redirects only to the service’s own paths, whatever a request asks for', async () => {
      const account = await register('v3redirect')
      const targets = ['http://evil.example/', '//evil.example', '/\\evil.example', 'https:evil.example']
      for (const target of targets) {
        const query = new URLSearchParams({ next: target, redirect: target, returnTo: target, return_to: target })
        const login = await http.call(`/login?${query}`, {
          method: 'POST',
          form: { ...account, next: target, redirect: target },
          sameOrigin: true,
        })
        expect(login.status).toBe(303)
        expect(login.location).toBe(`/dashboard/${account.username}`)
        const logout = await http.call(`/logout?${query}`, { method: 'POST', form: { next: target }, sameOrigin: true })
        expect(logout.location).toBe('/')
        const registered = await http.call(`/register?${query}`, {
          method: 'POST',
          form: { username: uniqueUsername('v3r'), password: strongPassword(), next: target },
          sameOrigin: true,
        })
        expect(registered.location).toBe('/login')
      }
      forEach([...plain, ...secure], (reply, label) => {
        if (reply.location) expect(reply.location, label).toMatch(/^\/(?![/\\])/)
      })
    })
  })
})
