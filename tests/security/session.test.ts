// ASVS 5.0 V7 Session Management (Level 1 and 2), black box over HTTP: what no route's scenario
// table shows; docs/security.md names the scenarios that prove the other rows (logout, a password
// change ending the other sessions, the session list). A session is a JWT plus a row in `sessions`
// (docs/decisions/002); rows are aged through service.runtime.db to stand for time passing, since
// waiting an hour is not a test. TRUST_PROXY=loopback lets one test speak as
// the HTTPS proxy in front of the service.
import { readFile } from 'node:fs/promises'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { strongPassword } from '../helpers/factories.ts'
import { jwtParts, parseSetCookie } from '../helpers/http.ts'

import { randomSessionId, resign, sessionIdOf } from '../helpers/tokens.ts'
import { expectProblem } from '../helpers/expect.ts'
import { startService, type TestService } from '../helpers/service.ts'

const TTL = 3600
let s: TestService
beforeAll(async () => {
  s = await startService({ env: { SESSION_TTL_SECONDS: String(TTL), TRUST_PROXY: 'loopback' } })
})
afterAll(async () => {
  await s?.stop()
})

/** Moves a session row's times: `login` and `expires` are seconds relative to now. */
async function ageSession(token: string, times: { login?: number; expires?: number }) {
  const sets = [
    ...(times.login === undefined ? [] : [`created_at = now() + make_interval(secs => ${times.login})`]),
    ...(times.expires === undefined ? [] : [`expires_at = now() + make_interval(secs => ${times.expires})`]),
  ]
  await s.runtime.db.none(`UPDATE sessions SET ${sets.join(', ')} WHERE id = $1`, [sessionIdOf(token)])
}

describe('V7.1 Session management documentation', () => {
  it('7.1.1 documents the session lifetime (absolute, no sliding renewal) and enforces it as written', async () => {
    const api = await readFile(new URL('../../docs/api.md', import.meta.url), 'utf8')
    const readme = await readFile(new URL('../../README.md', import.meta.url), 'utf8')
    expect(readme).toMatch(/`SESSION_TTL_SECONDS` \| `3600`/)
    expect(api).toMatch(/A session ends at its token's `exp` or `SESSION_TTL_SECONDS` after its login/)
    const account = await s.register('doc')
    const reply = await s.http.postJson('/login', { username: account.username, password: account.password })
    expect(reply.json.expires_in).toBe(TTL)
  })
})

describe('V7.2 Fundamental session management security', () => {
  it('7.2.1 decides on the server: a correctly signed token without a live session row is refused', async () => {
    const account = await s.register('backend')
    const token = await s.apiLogin(account)
    // signature, iss, aud and exp all valid — only the server-side row is missing
    const noRow = resign(s, token, { jti: randomSessionId() })
    expectProblem(await s.dashboard(account.username, noRow), 401, 'unauthorized', [noRow])
    // the row belongs to another user than the token's sub
    const other = await s.register('backend')
    const otherToken = await s.apiLogin(other)
    const crossed = resign(s, token, { jti: sessionIdOf(otherToken) })
    expectProblem(await s.dashboard(account.username, crossed), 401, 'unauthorized')
    // the row is gone (e.g. swept): the token is worthless though its exp is an hour away
    await s.runtime.db.none('DELETE FROM sessions WHERE id = $1', [sessionIdOf(token)])
    expectProblem(await s.dashboard(account.username, token), 401, 'unauthorized')
  })

  it('7.2.2 issues a dynamically generated token per sign-in; no static key is accepted', async () => {
    const account = await s.register('dynamic')
    const first = await s.apiLogin(account)
    const second = await s.apiLogin(account)
    expect(first).not.toBe(second)
    const { payload } = jwtParts(first)
    expect(payload).toMatchObject({
      sub: account.id,
      iat: expect.any(Number),
      exp: expect.any(Number),
      jti: expect.any(String),
    })
    for (const staticKey of [s.runtime.jwtSecret, 'gateway-auth', account.id]) {
      expectProblem(await s.dashboard(account.username, staticKey), 401, 'unauthorized')
    }
  })

  it('7.2.3 makes session references unique and random: 256-bit jti, all distinct', async () => {
    const account = await s.register('entropy')
    const ids = new Set<string>()
    const bytes: Buffer[] = []
    for (let i = 0; i < 8; i++) {
      const jti = sessionIdOf(await s.apiLogin(account))
      expect(jti).toMatch(/^[A-Za-z0-9_-]{43}$/)
      bytes.push(Buffer.from(jti, 'base64url'))
      ids.add(jti)
    }
    expect(ids.size).toBe(8)
    for (const id of bytes) expect(id.length * 8).toBeGreaterThanOrEqual(256)
    // not a counter or a timestamp: the ids share no common prefix
    expect(new Set(bytes.map((id) => id.subarray(0, 2).toString('hex'))).size).toBeGreaterThan(4)
  })

  it('7.2.4 issues a new token on every sign-in, ends the one it replaces, in a HttpOnly SameSite cookie (__Host- + Secure over HTTPS)', async () => {
    const account = await s.register('fresh')
    const jar = await s.browserLogin(account)
    const first = jar.get('session')!
    const again = await s.http.postForm('/login', { username: account.username, password: account.password }, { jar })
    expect(again.status).toBe(303)
    const second = jar.get('session')!
    expect(second).not.toBe(first)
    expect(sessionIdOf(second)).not.toBe(sessionIdOf(first))
    // the replaced session is over, though its token has not expired; the new one works
    expectProblem(await s.dashboard(account.username, first), 401, 'unauthorized')
    expect((await s.dashboard(account.username, second)).status).toBe(200)
    // the same for a program that signs in again with its bearer token
    const token = (await s.http.postJson('/login', { username: account.username, password: account.password })).json
      .access_token
    const renewed = await s.http.postJson(
      '/login',
      { username: account.username, password: account.password },
      { bearer: token },
    )
    expect(renewed.status).toBe(200)
    expectProblem(await s.dashboard(account.username, token), 401, 'unauthorized')
    expect((await s.dashboard(account.username, renewed.json.access_token)).status).toBe(200)

    const plain = parseSetCookie(again.setCookies.find((c) => c.startsWith('session='))!)
    expect(plain.attributes).toMatchObject({ httponly: '', samesite: 'Lax', path: '/', 'max-age': String(TTL) })
    expect(plain.attributes).not.toHaveProperty('domain')

    // through a trusted proxy that says the client used HTTPS: the __Host- name, with Secure
    const host = new URL(s.baseUrl).host
    const https = await s.http.postForm(
      '/login',
      { username: account.username, password: account.password },
      {
        headers: { 'x-forwarded-proto': 'https', origin: `https://${host}` },
      },
    )
    expect(https.status).toBe(303)
    const secureLine = https.setCookies.find((c) => c.startsWith('__Host-session='))
    expect(secureLine, https.setCookies.join('\n')).toBeDefined()
    const secure = parseSetCookie(secureLine!)
    expect(secure.attributes).toMatchObject({ httponly: '', secure: '', samesite: 'Lax', path: '/' })
    expect(secure.attributes).not.toHaveProperty('domain')
    expect(https.setCookies.some((c) => c.startsWith('session='))).toBe(false)
  })
})

describe('V7.3 Session timeout', () => {
  it('7.3.1 does not extend a session with use, and refuses one left past its end', async () => {
    const account = await s.register('idle')
    const token = await s.apiLogin(account)
    const first = await s.dashboard(account.username, token)
    const jar = await s.browserLogin(account)
    for (let i = 0; i < 3; i++) {
      const page = await s.http.getHtml(`/dashboard/${account.username}`, { jar })
      expect(page.setCookies.filter((c) => /^(__Host-)?session=/.test(c))).toEqual([]) // no sliding renewal
    }
    expect((await s.dashboard(account.username, token)).json.session.expires_at).toBe(first.json.session.expires_at)

    await ageSession(token, { expires: -1 })
    expectProblem(await s.dashboard(account.username, token), 401, 'session_expired', [token])
    // a browser is sent back to sign in, and told why
    await ageSession(jar.get('session')!, { expires: -1 })
    const page = await s.http.getHtml(`/dashboard/${account.username}`, { jar })
    expect(page.status).toBe(303)
    expect(page.location).toBe('/')
    expect((await s.http.getHtml('/', { jar })).text).toContain('Your session expired')
  })

  it('7.3.2 ends every session at most SESSION_TTL_SECONDS after its login, whatever the token says', async () => {
    const account = await s.register('absolute')
    const before = Math.floor(Date.now() / 1000)
    const login = await s.http.postJson('/login', { username: account.username, password: account.password })
    const token = login.json.access_token as string
    const { payload } = jwtParts(token)
    expect(payload.exp - payload.iat).toBe(TTL)
    expect(payload.iat).toBeGreaterThanOrEqual(before - 1)
    const expiresAt = Date.parse((await s.dashboard(account.username, token)).json.session.expires_at)
    expect(expiresAt / 1000).toBe(payload.exp)

    // the token's exp is still ahead, but the login was longer than the TTL ago
    await ageSession(token, { login: -TTL - 5 })
    expectProblem(await s.dashboard(account.username, token), 401, 'session_expired')
    expectProblem(
      await s.http.postJson(
        '/password',
        { current_password: account.password, new_password: strongPassword() },
        { bearer: token },
      ),
      401,
      'session_expired',
    )
  })
})

describe('V7.4 Session termination', () => {
  it('7.4.2 ends every session of an account that is deleted', async () => {
    const account = await s.register('deleted')
    const tokens = [await s.apiLogin(account), await s.apiLogin(account)]
    // there is no delete endpoint: an operator removes the row in the database
    await s.runtime.db.none('DELETE FROM users WHERE id = $1', [account.id])
    for (const token of tokens) expectProblem(await s.dashboard(account.username, token), 401, 'unauthorized')
  })
})
