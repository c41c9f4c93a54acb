import { describe, expect, it } from 'vitest'
import jwt from 'jsonwebtoken'
import { handler } from '#functions/login.ts'
import { handler as signInPage } from '#functions/index.ts'
import { findUserByUsername, createUser } from '#lib/auth/users.ts'
import { hashPassword } from '#lib/auth/password.ts'
import { hashPoolFor } from '#lib/auth/hash-pool.ts'
import { invoke, jsonBody } from '../helpers/events.ts'
import { strongPassword, uniqueUsername } from '../helpers/factories.ts'
import { header, HTML, invokeLocal, OWN_ORIGIN, setCookie, signUp, useRuntime } from '../helpers/handlers.ts'
import { expectProblem, expectNoSecrets } from '../helpers/expect.ts'

const PROXY = '10.0.0.2'
const TTL = 3600
const runtime = useRuntime({ TRUST_PROXY: PROXY })

describe('POST /login with JSON', () => {
  it('answers 200 with a Bearer token valid for the TTL and records the login time on the user', async () => {
    const { username, password, id } = await signUp()
    const result = await invoke(handler, { path: '/login', json: { username, password } })
    expect(result.statusCode).toBe(200)
    expect(header(result, 'content-type')).toMatch(/^application\/json/)
    expect(header(result, 'cache-control')).toBe('no-store')
    const body = jsonBody(result)
    expect(body).toMatchObject({ access_token: expect.any(String), token_type: 'Bearer', user: { id, username } })
    // exactly SESSION_TTL_SECONDS, whatever fraction of a second the sign-in started at
    expect(body.expires_in).toBe(TTL)
    expect(body.user.last_login_time).toEqual(expect.any(String))
    const row = await findUserByUsername(runtime().db, username)
    expect(row?.lastLoginTime?.toISOString()).toBe(body.user.last_login_time)
    expectNoSecrets(result, [password])
  })

  it('issues an HS256 token with sub, preferred_username, iss, aud, iat, exp and a jti of at least 128 bits', async () => {
    const { username, password, id } = await signUp()
    const token = jsonBody(await invoke(handler, { path: '/login', json: { username, password } })).access_token
    const decoded = jwt.decode(token, { complete: true })
    expect(decoded?.header).toMatchObject({ alg: 'HS256', typ: 'JWT' })
    const claims = decoded!.payload as jwt.JwtPayload
    expect(claims).toMatchObject({ sub: id, preferred_username: username, iss: 'gateway-auth', aud: 'gateway-auth' })
    expect(claims.exp! - claims.iat!).toBe(TTL)
    expect(claims.jti).toMatch(/^[A-Za-z0-9_-]{22,}$/)
    // signed with the runtime's secret
    expect(() => jwt.verify(token, runtime().jwtSecret, { algorithms: ['HS256'] })).not.toThrow()
    // and the server keeps a session row under the jti
    const session = await runtime().db.one(
      'SELECT user_id::text AS "userId", revoked_at AS "revokedAt" FROM sessions WHERE id = $1',
      [claims.jti],
    )
    expect(session).toEqual({ userId: id, revokedAt: null })
  })

  it('gives every login its own jti', async () => {
    const { username, password } = await signUp()
    const first = jsonBody(await invoke(handler, { path: '/login', json: { username, password } })).access_token
    const second = jsonBody(await invoke(handler, { path: '/login', json: { username, password } })).access_token
    expect((jwt.decode(first) as jwt.JwtPayload).jti).not.toBe((jwt.decode(second) as jwt.JwtPayload).jti)
  })

  it('matches the username case-insensitively and answers with the name as registered', async () => {
    const { username, password } = await signUp(uniqueUsername('Carol'))
    const result = await invoke(handler, { path: '/login', json: { username: username.toLowerCase(), password } })
    expect(result.statusCode).toBe(200)
    const body = jsonBody(result)
    expect(body.user.username).toBe(username)
    expect((jwt.decode(body.access_token) as jwt.JwtPayload).preferred_username).toBe(username)
  })

  it('answers an unknown user and a wrong password with the same 401 invalid_credentials body', async () => {
    const { username, password } = await signUp()
    const wrong = await invoke(handler, { path: '/login', json: { username, password: `${password}!` } })
    const unknown = await invoke(handler, { path: '/login', json: { username: uniqueUsername('ghost'), password } })
    const wrongBody = expectProblem(wrong, 401, 'invalid_credentials')
    expectProblem(unknown, 401, 'invalid_credentials')
    expect(unknown.body).toBe(wrong.body)
    expect(wrongBody.detail).toEqual(expect.any(String))
    expectNoSecrets(wrong, [password, `${password}!`])
    expectNoSecrets(unknown, [password])
    expect(wrong.cookies ?? []).toEqual([])
    // a failed login records nothing
    expect((await findUserByUsername(runtime().db, username))?.lastLoginTime).toBeNull()
  })

  const invalid: [string, Record<string, unknown>, string][] = [
    ['a password over 72 bytes', { username: 'someone', password: '🔑'.repeat(19) }, 'password'],
    ['a 73-byte ASCII password', { username: 'someone', password: 'p'.repeat(73) }, 'password'],
    ['a missing password', { username: 'someone' }, 'password'],
    ['an empty password', { username: 'someone', password: '' }, 'password'],
    ['a missing username', { password: 'harbor lantern quartz' }, 'username'],
    ['a number as username', { username: 42, password: 'harbor lantern quartz' }, 'username'],
    ['an array as password', { username: 'someone', password: ['harbor lantern quartz'] }, 'password'],
    ['null as password', { username: 'someone', password: null }, 'password'],
  ]
  it.each(invalid)('refuses %s with 400 validation_failed', async (_, json, field) => {
    const result = await invoke(handler, { path: '/login', json })
    const body = expectProblem(result, 400, 'validation_failed')
    expect(body.errors.map((e: { field: string }) => e.field)).toContain(field)
    if (field === 'password' && typeof json.password === 'string' && json.password.length > 20) {
      expect(body.errors.find((e: { field: string }) => e.field === 'password').message).toMatch(/72/)
    }
    expectNoSecrets(result, [typeof json.password === 'string' ? json.password : ''])
  })

  it('rehashes a password stored at another bcrypt cost on a successful login', async () => {
    const username = uniqueUsername()
    const password = strongPassword()
    const configured = runtime().config.password.bcryptCost
    const hashing = { pool: hashPoolFor(runtime()), cost: configured + 1, client: '127.0.0.1' }
    await createUser(runtime().db, username, await hashPassword(hashing, password), new Date())
    const result = await invoke(handler, { path: '/login', json: { username, password } })
    expect(result.statusCode).toBe(200)
    const stored = (await findUserByUsername(runtime().db, username))?.passwordHash
    expect(stored).toMatch(new RegExp(`^\\$2[aby]\\$${String(configured).padStart(2, '0')}\\$`))
  })
})

describe('POST /login with a form', () => {
  const cookieAttributes = (cookie: string) =>
    cookie
      .split(';')
      .slice(1)
      .map((part) => part.trim().toLowerCase())

  it('over API Gateway (HTTPS) sets __Host-session with Secure and redirects 303 to the dashboard', async () => {
    const { username, password } = await signUp(uniqueUsername('Dora'))
    const result = await invoke(handler, {
      path: '/login',
      form: { username: username.toLowerCase(), password },
      headers: { origin: OWN_ORIGIN },
    })
    expect(result.statusCode).toBe(303)
    expect(header(result, 'location')).toBe(`/dashboard/${username}`)
    const cookie = setCookie(result, '__Host-session')
    expect(cookie).toBeDefined()
    expect(setCookie(result, 'session')).toBeUndefined()
    expect(cookieAttributes(cookie!).sort()).toEqual(['httponly', 'max-age=3600', 'path=/', 'samesite=lax', 'secure'])
    const token = cookie!.split(';')[0]!.slice('__Host-session='.length)
    expect((jwt.decode(token) as jwt.JwtPayload).preferred_username).toBe(username)
    expectNoSecrets(result, [password])
  })

  it('over plain HTTP through the Express adapter sets session without Secure', async () => {
    const { username, password } = await signUp()
    const result = await invokeLocal(handler, {
      path: '/login',
      form: { username, password },
      headers: { origin: 'http://192.168.1.20:8085' },
    })
    expect(result.statusCode).toBe(303)
    expect(header(result, 'location')).toBe(`/dashboard/${username}`)
    const cookie = setCookie(result, 'session')
    expect(cookie).toBeDefined()
    expect(setCookie(result, '__Host-session')).toBeUndefined()
    expect(cookieAttributes(cookie!).sort()).toEqual(['httponly', 'max-age=3600', 'path=/', 'samesite=lax'])
  })

  it('behind a trusted proxy that says https sets __Host-session with Secure', async () => {
    const { username, password } = await signUp()
    const result = await invokeLocal(handler, {
      path: '/login',
      form: { username, password },
      sourceIp: PROXY,
      headers: { 'x-forwarded-proto': 'https', 'x-forwarded-for': '192.168.1.77', origin: 'https://192.168.1.20:8085' },
    })
    expect(result.statusCode).toBe(303)
    const cookie = setCookie(result, '__Host-session')
    expect(cookie).toBeDefined()
    expect(cookieAttributes(cookie!)).toContain('secure')
  })

  it('does not believe x-forwarded-proto from an untrusted peer: the cookie stays session without Secure', async () => {
    const { username, password } = await signUp()
    const result = await invokeLocal(handler, {
      path: '/login',
      form: { username, password },
      sourceIp: '192.168.1.66',
      headers: { 'x-forwarded-proto': 'https' },
    })
    expect(result.statusCode).toBe(303)
    expect(setCookie(result, '__Host-session')).toBeUndefined()
    expect(cookieAttributes(setCookie(result, 'session')!)).not.toContain('secure')
  })

  it('re-renders the login page with 401, keeping the username and never the password', async () => {
    const { username, password } = await signUp()
    const wrong = `${password}?`
    const result = await invoke(handler, {
      path: '/login',
      form: { username, password: wrong },
      headers: { origin: OWN_ORIGIN },
    })
    expect(result.statusCode).toBe(401)
    expect(header(result, 'content-type')).toMatch(/^text\/html/)
    expect(result.body).toContain('action="/login"')
    expect(result.body).toContain(`value="${username}"`)
    expect(result.body).toContain('<strong>Invalid username or password.</strong> Check both and try again.</p>')
    expectNoSecrets(result, [password, wrong])
    expect(result.cookies ?? []).toEqual([])
  })

  it('locked out: the login page says 429 and when to try again, as a time that matches Retry-After', async () => {
    const username = uniqueUsername('locked')
    const attempt = () =>
      invoke(handler, {
        path: '/login',
        form: { username, password: 'not the password' },
        headers: { origin: OWN_ORIGIN },
        sourceIp: '192.168.7.7',
      })
    let result = await attempt()
    for (let i = 0; i < 10 && result.statusCode !== 429; i++) result = await attempt()
    expect(result.statusCode).toBe(429)
    const seconds = Number(header(result, 'retry-after'))
    expect(seconds).toBeGreaterThan(0)
    const retryAt = /You can try again after\s+<time datetime="([^"]+)" data-local="time">/.exec(result.body ?? '')?.[1]
    expect(Math.abs(Date.parse(retryAt!) - (Date.now() + seconds * 1000))).toBeLessThan(5_000)
    expect(result.body).toContain(`value="${username}"`)
  })
})

describe('GET /login', () => {
  it('shows the sign-in form with a link to /register', async () => {
    const result = await invoke(signInPage, { path: '/login', headers: HTML })
    expect(result.statusCode).toBe(200)
    expect(result.body).toContain('action="/login"')
    expect(result.body).toContain('href="/register"')
  })
})
