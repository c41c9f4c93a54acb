// The HTTP contract (docs/api.md), browser safety: real requests on a real port through the Express
// adapter, against the first database kind (what differs by database: tests/http/databases.test.ts).
import { describe, expect, it } from 'vitest'
import { expectHtmlSafety, type Reply } from '../../helpers/http.ts'
import { expectProblem } from '../../helpers/expect.ts'
import { strongPassword, uniqueUsername } from '../../helpers/factories.ts'
import { useService, type Account } from '../../helpers/service.ts'

/** Only the fields a sign-in form has. */
const creds = (account: Pick<Account, 'username' | 'password'>) => ({
  username: account.username,
  password: account.password,
})
const FOREIGN_ORIGIN = 'http://evil.example'

const s = useService()

describe('browser safety', () => {
  it('every HTML page carries CSP, nosniff, Referrer-Policy and denies framing; account pages are no-store', async () => {
    const account = await s.register('safe')
    const jar = await s.browserLogin(account)
    const other = await s.register('safe2')
    const pages: Reply[] = [
      await s.http.getHtml('/'),
      await s.http.getHtml('/login'),
      await s.http.getHtml('/register'),
      await s.http.getHtml('/nope'),
      await s.http.postForm('/login', { username: account.username, password: 'wrong password here' }),
      await s.http.postForm('/register', { username: 'x', password: 'y' }),
      await s.http.call('/login', { method: 'POST', form: creds(account), headers: { origin: FOREIGN_ORIGIN } }),
      await s.http.getHtml(`/dashboard/${other.username}`, { jar }),
      await s.http.getHtml(`/dashboard/${account.username}`, { jar }),
    ]
    for (const page of pages) {
      expect(page.contentType).toMatch(/^text\/html/)
      expectHtmlSafety(page.headers)
      const csp = page.headers.get('content-security-policy')!
      expect(csp).toMatch(/form-action 'self'/)
      expect(csp).not.toMatch(/upgrade-insecure-requests|sandbox/)
    }
    expect(pages.at(-1)!.headers.get('cache-control')).toBe('no-store')
    expect(pages.at(-2)!.headers.get('cache-control')).toBe('no-store')
  })

  it('no X-Powered-By on any kind of response', async () => {
    for (const reply of [
      await s.http.get('/'),
      await s.http.get('/static/style.css'),
      await s.http.get('/health'),
      await s.http.getJson('/nope'),
    ]) {
      expect(reply.headers.get('x-powered-by')).toBeNull()
    }
  })

  it.each([
    ['a foreign Origin', () => ({ origin: FOREIGN_ORIGIN })],
    ['Origin: null', () => ({ origin: 'null' })],
    ['its own host and port over https', () => ({ origin: s.baseUrl.replace(/^http:/, 'https:') })],
    ['another port of its host', () => ({ origin: 'http://127.0.0.1:1' })],
    ['Sec-Fetch-Site: cross-site', () => ({ 'sec-fetch-site': 'cross-site' })],
  ])('a login form with %s: 403 cross_origin_rejected, no cookie', async (_label, makeHeaders) => {
    const account = await s.register('csrf')
    const headers: Record<string, string> = makeHeaders()
    const reply = await s.http.call('/login', { method: 'POST', form: creds(account), headers })
    expect(reply.status).toBe(403)
    expect(reply.contentType).toMatch(/^text\/html/)
    expect(reply.text).toContain('Cross-origin request rejected')
    expect(reply.setCookies.filter((c) => c.startsWith('session'))).toEqual([])
    const json = await s.http.call('/login', {
      method: 'POST',
      form: creds(account),
      headers: { ...headers, accept: 'application/json' },
    })
    expect(json.status).toBe(403)
  })

  it('a registration form from another site creates no account', async () => {
    const account = { username: uniqueUsername('csrfreg'), password: strongPassword() }
    const reply = await s.http.call('/register', {
      method: 'POST',
      form: creds(account),
      headers: { origin: FOREIGN_ORIGIN },
    })
    expect(reply.status).toBe(403)
    expect((await s.http.postJson('/register', account)).status).toBe(201)
  })

  it('cross-site posts carrying the session cookie are refused and change nothing', async () => {
    const account = await s.register('csrfcookie')
    const jar = await s.browserLogin(account)
    const evil = { origin: FOREIGN_ORIGIN, accept: 'application/json' }
    const form = await s.http.call('/password', {
      method: 'POST',
      form: { current_password: account.password, new_password: strongPassword() },
      headers: evil,
      jar,
    })
    expect(form.status).toBe(403)
    expect(form.contentType).toMatch(/^text\/html/)
    const json = await s.http.call('/password', {
      method: 'POST',
      json: { current_password: account.password, new_password: strongPassword() },
      headers: evil,
      jar,
    })
    expectProblem(json, 403, 'cross_origin_rejected', s.secretsOf(account))
    // a JSON body does not exempt a request that carries the cookie
    const logout = await s.http.call('/logout', {
      method: 'POST',
      json: {},
      headers: { 'sec-fetch-site': 'cross-site' },
      jar,
    })
    expectProblem(logout, 403, 'cross_origin_rejected')
    expect((await s.http.getHtml(`/dashboard/${account.username}`, { jar })).status).toBe(200)
    await s.apiLogin(account)
  })

  it('same-origin forms work: Origin = the service, or Sec-Fetch-Site: same-origin', async () => {
    const account = await s.register('sameorigin')
    const viaOrigin = await s.http.call('/login', {
      method: 'POST',
      form: creds(account),
      headers: { origin: s.baseUrl },
    })
    expect(viaOrigin.status).toBe(303)
    const viaFetchMetadata = await s.http.call('/login', {
      method: 'POST',
      form: creds(account),
      headers: { 'sec-fetch-site': 'same-origin' },
    })
    expect(viaFetchMetadata.status).toBe(303)
  })

  it('an API client (JSON, no cookie) is not a browser: its Origin does not matter', async () => {
    const account = await s.register('apiclient')
    const reply = await s.http.postJson('/login', creds(account), { headers: { origin: FOREIGN_ORIGIN } })
    expect(reply.status).toBe(200)
  })
})
