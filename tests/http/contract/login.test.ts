// The HTTP contract (docs/api.md), POST /login: real requests on a real port through the Express
// adapter, against the first database kind (what differs by database: tests/http/databases.test.ts).
import { describe, expect, it } from 'vitest'
import { jwtParts, parseSetCookie } from '../../helpers/http.ts'
import { expectProblem, expectNoSecrets } from '../../helpers/expect.ts'
import { inputValue } from '../../helpers/pages.ts'
import { uniqueUsername } from '../../helpers/factories.ts'
import { useSecurityService, type Account } from '../../helpers/accounts.ts'

/** Only the fields a sign-in form has. */
const creds = (account: Pick<Account, 'username' | 'password'>) => ({
  username: account.username,
  password: account.password,
})
const TTL = 3600

const s = useSecurityService()

describe('POST /login', () => {
  it('JSON: 200 with a Bearer token, expires_in, the user and the recorded login time', async () => {
    const account = await s.register('Login')
    const before = Date.now()
    // the name is matched case-insensitively and shown as registered
    const reply = await s.http.postJson('/login', {
      username: account.username.toLowerCase(),
      password: account.password,
    })
    const after = Date.now()
    expect(reply.status).toBe(200)
    expect(reply.json).toEqual({
      access_token: expect.any(String),
      token_type: 'Bearer',
      expires_in: expect.any(Number),
      user: {
        id: account.id,
        username: account.username,
        created_at: account.created_at,
        last_login_time: expect.any(String),
      },
    })
    expect(reply.json.expires_in).toBe(TTL)
    const loginTime = Date.parse(reply.json.user.last_login_time)
    expect(loginTime).toBeGreaterThanOrEqual(before - 1000)
    expect(loginTime).toBeLessThanOrEqual(after + 1000)
    expect(reply.headers.get('cache-control')).toBe('no-store')
    expect(reply.setCookies).toEqual([])
    expectNoSecrets(reply.text, s.secretsOf(account))

    const { header, payload } = jwtParts(reply.json.access_token)
    expect(header.alg).toBe('HS256')
    expect(payload).toMatchObject({
      sub: account.id,
      preferred_username: account.username,
      iss: 'gateway-auth',
      aud: 'gateway-auth',
    })
    expect(payload.exp - payload.iat).toBe(TTL)
    expect(Buffer.from(payload.jti, 'base64url').length).toBeGreaterThanOrEqual(16)

    // the login time is the one the dashboard reports
    const dashboard = await s.http.getJson(`/dashboard/${account.username}`, { bearer: reply.json.access_token })
    expect(dashboard.json.user.last_login_time).toBe(reply.json.user.last_login_time)
  })

  it('two logins give two distinct tokens (random jti)', async () => {
    const account = await s.register('twice')
    const [a, b] = [await s.apiLogin(account), await s.apiLogin(account)]
    expect(jwtParts(a).payload.jti).not.toBe(jwtParts(b).payload.jti)
  })

  it('form: sets the session cookie (HttpOnly, SameSite=Lax, Path=/, Max-Age=TTL, no Secure) and 303s to the dashboard', async () => {
    const account = await s.register('Cookie')
    const reply = await s.http.postForm('/login', creds(account))
    expect(reply.status).toBe(303)
    expect(reply.location).toBe(`/dashboard/${account.username}`)
    expect(reply.headers.get('cache-control')).toBe('no-store')
    expect(reply.setCookies).toHaveLength(1)
    const cookie = parseSetCookie(reply.setCookies[0]!)
    expect(cookie.name).toBe('session')
    expect(jwtParts(cookie.value).payload.preferred_username).toBe(account.username)
    expect(cookie.attributes).toEqual({ httponly: '', samesite: 'Lax', path: '/', 'max-age': String(TTL) })
    expectNoSecrets(reply.text, s.secretsOf(account))
  })

  it('X-Forwarded-Proto: https from an untrusted peer changes nothing: plain session cookie, no Secure', async () => {
    const account = await s.register('untrusted')
    const reply = await s.http.postForm('/login', creds(account), { headers: { 'x-forwarded-proto': 'https' } })
    expect(reply.status).toBe(303)
    expect(reply.setCookies).toHaveLength(1)
    expect(parseSetCookie(reply.setCookies[0]!).name).toBe('session')
    expect(parseSetCookie(reply.setCookies[0]!).attributes).not.toHaveProperty('secure')
  })

  it('unknown user and wrong password: 401 invalid_credentials with the very same body', async () => {
    const account = await s.register('creds')
    const wrong = await s.http.postJson('/login', { username: account.username, password: `${account.password}!` })
    const unknown = await s.http.postJson('/login', { username: uniqueUsername('ghost'), password: account.password })
    expectProblem(wrong, 401, 'invalid_credentials', s.secretsOf(account))
    expectProblem(unknown, 401, 'invalid_credentials', s.secretsOf(account))
    expect(unknown.text).toBe(wrong.text)
    expect(wrong.setCookies).toEqual([])
  })

  it('form with a wrong password: 401 login page with the message, the username kept, the password not', async () => {
    const account = await s.register('formbad')
    const password = `${account.password}?`
    const reply = await s.http.postForm('/login', { username: account.username, password })
    expect(reply.status).toBe(401)
    expect(reply.contentType).toMatch(/^text\/html/)
    expect(reply.text).toContain('Invalid username or password')
    expect(inputValue(reply.text, 'username')).toBe(account.username)
    expect(inputValue(reply.text, 'password')).toBeUndefined()
    expect(reply.setCookies.filter((c) => c.startsWith('session='))).toEqual([])
    expectNoSecrets(reply.text, [password, ...s.secretsOf(account)])
  })

  it('form: what was typed as username is escaped when shown again', async () => {
    const username = '"><img src=x onerror=alert(1)>'
    const reply = await s.http.postForm('/login', { username, password: 'whatever-whatever' })
    // no account can have that name: refused as input, and shown again escaped
    expect(reply.status).toBe(400)
    expect(reply.text).not.toContain('<img src=x')
    expect(inputValue(reply.text, 'username')).toMatch(/^&(quot|#34);&gt;&lt;img src=x onerror=alert\(1\)&gt;$/)
  })

  it.each([
    ['no password', { username: 'someone' }, ['password']],
    ['no username', { password: 'something-long-enough' }, ['username']],
    ['an empty password', { username: 'someone', password: '' }, ['password']],
  ])('JSON with %s: 400 validation_failed', async (_label, body, fields) => {
    const reply = await s.http.postJson('/login', body)
    expectProblem(reply, 400, 'validation_failed', s.secretsOf())
    expect(reply.json.errors.map((e: { field: string }) => e.field)).toEqual(fields)
  })
})
