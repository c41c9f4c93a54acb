// The HTTP contract (docs/api.md), GET /dashboard/{username}: real requests on a real port through the Express
// adapter, against the first database kind (what differs by database: tests/http/databases.test.ts).
import { describe, expect, it } from 'vitest'
import { createSession } from '#lib/auth/sessions.ts'
import { CookieJar, jwtParts, parseSetCookie } from '../../helpers/http.ts'
import { expectProblem, expectNoSecrets } from '../../helpers/expect.ts'
import { timeAfter } from '../../helpers/pages.ts'
import { uniqueUsername } from '../../helpers/factories.ts'
import { useService } from '../../helpers/service.ts'

const TTL = 3600

const s = useService()

describe('GET /dashboard/<username>', () => {
  it('HTML with the session cookie: username, creation, last login and expiry; no-store', async () => {
    const account = await s.register('Dash')
    const jar = await s.browserLogin(account)
    const reply = await s.http.getHtml(`/dashboard/${account.username}`, { jar })
    expect(reply.status).toBe(200)
    expect(reply.contentType).toMatch(/^text\/html/)
    expect(reply.headers.get('cache-control')).toBe('no-store')
    expect(reply.text).toContain(account.username)
    const created = timeAfter(reply.text, 'Account created')
    const lastLogin = timeAfter(reply.text, 'This sign-in')
    const expires = timeAfter(reply.text, 'Session ends')
    expect(created).toBe(account.created_at)
    expect(Date.parse(lastLogin!)).toBeGreaterThanOrEqual(Date.parse(created!))
    // the session ends TTL after the (whole-second) login
    expect(Date.parse(expires!) - Date.parse(lastLogin!)).toBeGreaterThan((TTL - 1) * 1000)
    expect(Date.parse(expires!) - Date.parse(lastLogin!)).toBeLessThanOrEqual(TTL * 1000)
    expect(reply.text).toMatch(/<form[^>]*action="\/logout"/)
    expect(reply.text).toMatch(/<form[^>]*action="\/password"/)
    expectNoSecrets(reply.text, [...s.secretsOf(account), jar.get('session')!])
  })

  it('JSON with a Bearer token: 200 user, session.expires_at and the live sessions; no-store', async () => {
    const account = await s.register('dashjson')
    const token = await s.apiLogin(account)
    const reply = await s.http.getJson(`/dashboard/${account.username}`, { bearer: token })
    expect(reply.status).toBe(200)
    expect(reply.headers.get('cache-control')).toBe('no-store')
    expect(reply.json).toEqual({
      user: {
        id: account.id,
        username: account.username,
        created_at: account.created_at,
        last_login_time: expect.any(String),
        previous_login_time: null,
      },
      session: {
        signed_in_at: new Date(jwtParts(token).payload.iat * 1000).toISOString(),
        expires_at: new Date(jwtParts(token).payload.exp * 1000).toISOString(),
      },
      sessions: [
        {
          id: expect.stringMatching(/^[\w-]{22}$/),
          created_at: expect.any(String),
          expires_at: new Date(jwtParts(token).payload.exp * 1000).toISOString(),
          current: true,
        },
      ],
      gateway: expect.objectContaining({
        hostname: expect.any(String),
        database: expect.objectContaining({ healthy: true }),
      }),
    })
    expectNoSecrets(reply.text, s.secretsOf(account))
  })

  it('the session cookie works for JSON too, and the bearer token wins over it', async () => {
    const mine = await s.register('cookiejson')
    const other = await s.register('bearerwins')
    const jar = await s.browserLogin(mine)
    const viaCookie = await s.http.getJson(`/dashboard/${mine.username}`, { jar })
    expect(viaCookie.status).toBe(200)
    const otherToken = await s.apiLogin(other)
    const both = await s.http.getJson(`/dashboard/${other.username}`, { jar, bearer: otherToken })
    expect(both.status).toBe(200)
    expect(both.json.user.username).toBe(other.username)
  })

  describe('without a usable session', () => {
    it('HTML, no session: 303 to /', async () => {
      const account = await s.register('nosess')
      const reply = await s.http.getHtml(`/dashboard/${account.username}`)
      expect(reply.status).toBe(303)
      expect(reply.location).toBe('/')
    })

    it('HTML, unknown user while not signed in: 303 to /', async () => {
      const reply = await s.http.getHtml(`/dashboard/${uniqueUsername('nobody')}`)
      expect(reply.status).toBe(303)
      expect(reply.location).toBe('/')
    })

    it('HTML, an invalid session cookie: 303 to / and the cookie is cleared', async () => {
      const account = await s.register('badcookie')
      const jar = new CookieJar()
      jar.cookies.set('session', 'not.a.token')
      const reply = await s.http.getHtml(`/dashboard/${account.username}`, { jar })
      expect(reply.status).toBe(303)
      expect(reply.location).toBe('/')
      expect(jar.get('session')).toBeUndefined()
    })

    it.each([
      ['no token', () => undefined],
      ['a malformed token', () => 'garbage'],
      ['a token signed with another key', () => forgeToken('HS256')],
      ['an unsigned token (alg none)', () => forgeToken('none')],
    ])('JSON, %s: 401 unauthorized', async (_label, token) => {
      const account = await s.register('nojson')
      const bearer = token()
      const reply = await s.http.getJson(`/dashboard/${account.username}`, bearer ? { bearer } : {})
      expectProblem(reply, 401, 'unauthorized', s.secretsOf(account))
    })

    it('revoked (after logout): JSON 401 unauthorized, HTML 303 to /', async () => {
      const account = await s.register('revoked')
      const token = await s.apiLogin(account)
      expect((await s.http.postJson('/logout', {}, { bearer: token })).status).toBe(204)
      const json = await s.http.getJson(`/dashboard/${account.username}`, { bearer: token })
      expectProblem(json, 401, 'unauthorized', s.secretsOf(account))
      const jar = new CookieJar()
      jar.cookies.set('session', token)
      const html = await s.http.getHtml(`/dashboard/${account.username}`, { jar })
      expect(html.status).toBe(303)
      expect(html.location).toBe('/')
    })

    it('expired token: JSON 401 session_expired; HTML 303 to / which says so (two Set-Cookie intact)', async () => {
      const account = await s.register('expired')
      const signedIn = new Date(Date.now() - 2 * TTL * 1000)
      const { token } = await createSession(s.runtime.db, account, signedIn, s.runtime)

      const json = await s.http.getJson(`/dashboard/${account.username}`, { bearer: token })
      expectProblem(json, 401, 'session_expired', s.secretsOf(account))

      const jar = new CookieJar()
      jar.cookies.set('session', token)
      const html = await s.http.getHtml(`/dashboard/${account.username}`, { jar })
      expect(html.status).toBe(303)
      expect(html.location).toBe('/')
      const cookies = html.setCookies.map(parseSetCookie)
      expect(cookies.map((c) => c.name).sort()).toEqual(['notice', 'session'])
      expect(cookies.find((c) => c.name === 'session')).toMatchObject({
        value: '',
        attributes: { 'max-age': '0', path: '/' },
      })
      expect(cookies.find((c) => c.name === 'notice')).toMatchObject({ value: 'expired', attributes: { path: '/' } })
      const page = await s.http.getHtml('/', { jar })
      expect(page.status).toBe(200)
      expect(page.text).toContain('Your session expired')
      expect(jar.get('session')).toBeUndefined()
    })

    it('more than the TTL since the login (token exp still ahead): 401 session_expired', async () => {
      const account = await s.register('oldlogin')
      const token = await s.apiLogin(account)
      expect((await s.http.getJson(`/dashboard/${account.username}`, { bearer: token })).status).toBe(200)
      await s.runtime.db.none(
        `UPDATE sessions SET created_at = created_at - interval '${TTL + 60} seconds' WHERE id = $1`,
        [jwtParts(token).payload.jti],
      )
      const reply = await s.http.getJson(`/dashboard/${account.username}`, { bearer: token })
      expectProblem(reply, 401, 'session_expired', s.secretsOf(account))
    })
  })

  it('signed in as someone else: HTML 403, JSON 403 forbidden (also for a name that does not exist)', async () => {
    const me = await s.register('me')
    const other = await s.register('other')
    const jar = await s.browserLogin(me)
    const html = await s.http.getHtml(`/dashboard/${other.username}`, { jar })
    expect(html.status).toBe(403)
    expect(html.contentType).toMatch(/^text\/html/)
    expect(html.text).not.toContain(other.created_at)
    const token = await s.apiLogin(me)
    for (const name of [other.username, uniqueUsername('ghost')]) {
      const json = await s.http.getJson(`/dashboard/${name}`, { bearer: token })
      expectProblem(json, 403, 'forbidden', [...s.secretsOf(me), other.password])
      expect(json.text).not.toContain(other.created_at)
    }
  })

  function forgeToken(alg: 'HS256' | 'none'): string {
    const part = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url')
    const now = Math.floor(Date.now() / 1000)
    const claims = {
      sub: '1',
      preferred_username: 'x',
      jti: 'forged',
      iat: now,
      exp: now + 600,
      iss: 'gateway-auth',
      aud: 'gateway-auth',
    }
    const unsigned = `${part({ alg, typ: 'JWT' })}.${part(claims)}`
    if (alg === 'none') return `${unsigned}.`
    return `${unsigned}.${Buffer.from('not the signature of this token!').toString('base64url')}`
  }
})
