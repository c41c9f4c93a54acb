// The HTTP contract (docs/api.md), end to end: real requests on a real port through
// the Express adapter, against the embedded PostgreSQL and (when TEST_DATABASE_URL is set) the
// server. Throttling (429) is covered elsewhere.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createSession } from '#lib/auth/sessions.ts'
import { startService, type TestService } from '../helpers/server.ts'
import { databaseKinds } from '../helpers/runtime.ts'
import { strongPassword, uniqueUsername } from '../helpers/factories.ts'
import { client, CookieJar, expectHtmlSafety, jwtParts, parseSetCookie, rawRequest, type Client, type Reply } from '../helpers/http.ts'
import { expectProblem, expectNoSecrets } from '../helpers/expect.ts'


interface Account {
  username: string
  password: string
}

/** Only the fields a sign-in form has. */
const creds = (account: Account) => ({ username: account.username, password: account.password })

const TTL = 3600
const COMMON_PASSWORD = '1qaz2wsx3edc4rfv' // on the zxcvbn-ts list, 16 characters
const FOREIGN_ORIGIN = 'http://evil.example'

/** The Allow header as a set of methods. */
const allowSet = (reply: { headers: Headers }) =>
  new Set((reply.headers.get('allow') ?? '').split(',').map((m) => m.trim()).filter(Boolean))

/** The datetime attribute of the <time> following a label on the dashboard. */
function timeAfter(html: string, label: string): string | undefined {
  return new RegExp(`${label}[\\s\\S]*?<time datetime="([^"]+)"`).exec(html)?.[1]
}

/** The value attribute of an <input>, or undefined when it has none. */
function inputValue(html: string, name: string): string | undefined | null {
  const tag = new RegExp(`<input[^>]*\\bname="${name}"[^>]*>`).exec(html)?.[0]
  if (!tag) return null
  return /\bvalue="([^"]*)"/.exec(tag)?.[1]
}

describe.each(databaseKinds())('HTTP contract through the Express adapter (%s database)', (kind) => {
  let service: TestService
  let http: Client
  /** What must never leave the server, whatever the response. */
  let serverSecrets: string[]

  beforeAll(async () => {
    service = await startService(kind)
    http = client(service.baseUrl)
    serverSecrets = [service.runtime.jwtSecret]
  })
  afterAll(async () => {
    await service?.stop()
  })

  async function register(prefix = 'user'): Promise<Account & { id: string; created_at: string }> {
    const account = { username: uniqueUsername(prefix), password: strongPassword() }
    const reply = await http.postJson('/register', account)
    expect(reply.status).toBe(201)
    return { ...account, id: reply.json.user.id, created_at: reply.json.user.created_at }
  }

  async function apiLogin(account: Account): Promise<string> {
    const reply = await http.postJson('/login', { username: account.username, password: account.password })
    expect(reply.status).toBe(200)
    return reply.json.access_token as string
  }

  async function browserLogin(account: Account, jar = new CookieJar()): Promise<CookieJar> {
    const reply = await http.postForm('/login', { username: account.username, password: account.password }, { jar })
    expect(reply.status).toBe(303)
    expect(jar.get('session')).toBeTruthy()
    return jar
  }

  const secretsOf = (account?: Account) => [...serverSecrets, ...(account ? [account.password] : [])]

  describe('GET / and GET /login', () => {
    it.each(['/', '/login'])('%s is the HTML login page: a form posting to /login and a link to /register', async (path) => {
      const reply = await http.getHtml(path)
      expect(reply.status).toBe(200)
      expect(reply.contentType).toMatch(/^text\/html/)
      expect(reply.text).toMatch(/<form[^>]*method="post"[^>]*action="\/login"/i)
      expect(reply.text).toMatch(/<input[^>]*name="username"/)
      expect(reply.text).toMatch(/<input[^>]*name="password"[^>]*type="password"/)
      expect(reply.text).toMatch(/<a[^>]*href="\/register"/)
      expectHtmlSafety(reply.headers)
    })

    it.each(['/', '/login'])('%s answers JSON when Accept prefers application/json', async (path) => {
      const reply = await http.getJson(path)
      expect(reply.status).toBe(200)
      expect(reply.contentType).toMatch(/^application\/json/)
      expect(reply.json).toMatchObject({ login: '/login', register: '/register' })
    })

    it.each([
      ['text/html;q=0.1, application/json', 'json'],
      ['application/json;q=0.5, text/html', 'html'],
      ['*/*', 'html'],
    ])('Accept: %s → %s', async (accept, expected) => {
      const reply = await http.get('/', { headers: { accept } })
      expect(reply.status).toBe(200)
      expect(reply.contentType).toMatch(expected === 'json' ? /^application\/json/ : /^text\/html/)
    })

    it('HEAD / answers like GET without a body', async () => {
      const reply = await http.call('/', { method: 'HEAD' })
      expect(reply.status).toBe(200)
      expect(reply.text).toBe('')
      expect(reply.contentType).toMatch(/^text\/html/)
    })
  })

  describe('GET /register', () => {
    it('is the registration page with a form posting to /register and a link back to sign-in', async () => {
      const reply = await http.getHtml('/register')
      expect(reply.status).toBe(200)
      expect(reply.contentType).toMatch(/^text\/html/)
      expect(reply.text).toMatch(/<form[^>]*method="post"[^>]*action="\/register"/i)
      expect(reply.text).toMatch(/<input[^>]*name="password"[^>]*type="password"/)
      expect(reply.text).toContain('At least 15 characters')
      expectHtmlSafety(reply.headers)
    })
  })

  describe('POST /register', () => {
    it('JSON: 201 with id, username as registered and created_at; no password or hash; no-store', async () => {
      const username = uniqueUsername('Mixed.Case')
      const password = strongPassword()
      const before = Date.now()
      const reply = await http.postJson('/register', { username, password, role: 'admin', is_admin: true })
      expect(reply.status).toBe(201)
      expect(reply.contentType).toMatch(/^application\/json/)
      expect(reply.json).toEqual({ user: { id: expect.any(String), username, created_at: expect.any(String), last_login_time: null } })
      const created = Date.parse(reply.json.user.created_at)
      expect(created).toBeGreaterThanOrEqual(before - 1000)
      expect(created).toBeLessThanOrEqual(Date.now() + 1000)
      expect(reply.headers.get('cache-control')).toBe('no-store')
      expectNoSecrets(reply.text, secretsOf({ username, password }))
      expect(reply.text).not.toContain('admin')
    })

    it('form: 303 to /login, and the login page then shows "account created" once', async () => {
      const jar = new CookieJar()
      const account = { username: uniqueUsername('form'), password: strongPassword() }
      const reply = await http.postForm('/register', account, { jar })
      expect(reply.status).toBe(303)
      expect(reply.location).toBe('/login')
      expect(reply.text).toBe('')
      const page = await http.getHtml(reply.location!, { jar })
      expect(page.status).toBe(200)
      expect(page.text).toContain('Your account was created')
      const again = await http.getHtml('/login', { jar })
      expect(again.text).not.toContain('Your account was created')
      // the account exists: it can sign in
      await apiLogin(account)
    })

    it('a taken name, in any letter case: JSON 409 username_taken with an error on username', async () => {
      const account = await register('Taken')
      for (const username of [account.username, account.username.toUpperCase(), account.username.toLowerCase()]) {
        const reply = await http.postJson('/register', { username, password: strongPassword() })
        expectProblem(reply, 409, 'username_taken', secretsOf(account))
        expect(reply.json.errors).toEqual([{ field: 'username', message: expect.any(String) }])
      }
    })

    it('a taken name, form: 409 registration page keeping the username, never the password', async () => {
      const account = await register('taken')
      const password = strongPassword()
      const reply = await http.postForm('/register', { username: account.username.toUpperCase(), password })
      expect(reply.status).toBe(409)
      expect(reply.contentType).toMatch(/^text\/html/)
      expect(reply.text).toMatch(/action="\/register"/)
      expect(reply.text).toContain('already taken')
      expect(inputValue(reply.text, 'username')).toBe(account.username.toUpperCase())
      expect(inputValue(reply.text, 'password')).toBeUndefined()
      expectNoSecrets(reply.text, [password, account.password, ...serverSecrets])
    })

    const invalid: [string, (name: string) => Record<string, unknown>, string[]][] = [
      ['nothing at all', () => ({}), ['username', 'password']],
      ['a 2-character username', () => ({ username: 'zz', password: strongPassword() }), ['username']], // 'zz' cannot occur in a strongPassword()
      ['a 33-character username', () => ({ username: 'a'.repeat(33), password: strongPassword() }), ['username']],
      ['a space in the username', (n) => ({ username: `${n} x`, password: strongPassword() }), ['username']],
      ['a non-ASCII username', () => ({ username: 'Ålice-ünicode', password: strongPassword() }), ['username']],
      ['a username that is not text', () => ({ username: 12345, password: strongPassword() }), ['username']],
      ['a 14-character password', (n) => ({ username: n, password: 'abcdefghijklmn' }), ['password']],
      ['a password over 72 bytes', (n) => ({ username: n, password: 'é'.repeat(37) }), ['password']],
      ['a common password', (n) => ({ username: n, password: COMMON_PASSWORD }), ['password']],
      ['a common password in capitals', (n) => ({ username: n, password: COMMON_PASSWORD.toUpperCase() }), ['password']],
      ['a password containing the username', (n) => ({ username: n, password: `my ${n.toUpperCase()} is great` }), ['password']],
      ['a password that is not text', (n) => ({ username: n, password: ['x'.repeat(20)] }), ['password']],
    ]
    it.each(invalid)('JSON with %s: 400 validation_failed naming the fields', async (_label, make, fields) => {
      const input = make(uniqueUsername('inv'))
      const reply = await http.postJson('/register', input)
      expectProblem(reply, 400, 'validation_failed', [
        ...serverSecrets,
        ...(typeof input.password === 'string' ? [input.password] : []),
      ])
      expect(reply.json.errors.map((e: { field: string }) => e.field).sort()).toEqual([...fields].sort())
      for (const error of reply.json.errors) expect(error.message).toEqual(expect.any(String))
    })

    it('a password over 72 bytes is refused with a message that says so (never truncated)', async () => {
      const reply = await http.postJson('/register', { username: uniqueUsername('long'), password: 'é'.repeat(37) })
      expect(reply.status).toBe(400)
      expect(reply.json.errors[0].message).toMatch(/72 bytes/)
    })

    it('form with invalid fields: 400 page with the messages, the typed username escaped, no password', async () => {
      const username = '<script>alert("x")</script>'
      const password = 'short'
      const reply = await http.postForm('/register', { username, password })
      expect(reply.status).toBe(400)
      expect(reply.contentType).toMatch(/^text\/html/)
      expect(reply.text).toContain('Username may only contain')
      expect(reply.text).toContain('at least 15 characters')
      expect(reply.text).not.toContain('<script>')
      expect(reply.text).toContain('&lt;script&gt;')
      expect(inputValue(reply.text, 'password')).toBeUndefined()
      expect(reply.text).not.toContain(`value="${password}"`)
    })
  })

  describe('POST /login', () => {
    it('JSON: 200 with a Bearer token, expires_in, the user and the recorded login time', async () => {
      const account = await register('Login')
      const before = Date.now()
      // the name is matched case-insensitively and shown as registered
      const reply = await http.postJson('/login', { username: account.username.toLowerCase(), password: account.password })
      const after = Date.now()
      expect(reply.status).toBe(200)
      expect(reply.json).toEqual({
        access_token: expect.any(String),
        token_type: 'Bearer',
        expires_in: expect.any(Number),
        user: { id: account.id, username: account.username, created_at: account.created_at, last_login_time: expect.any(String) },
      })
      expect(reply.json.expires_in).toBeGreaterThan(TTL - 5)
      expect(reply.json.expires_in).toBeLessThanOrEqual(TTL)
      const loginTime = Date.parse(reply.json.user.last_login_time)
      expect(loginTime).toBeGreaterThanOrEqual(before - 1000)
      expect(loginTime).toBeLessThanOrEqual(after + 1000)
      expect(reply.headers.get('cache-control')).toBe('no-store')
      expect(reply.setCookies).toEqual([])
      expectNoSecrets(reply.text, secretsOf(account))

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
      const dashboard = await http.getJson(`/dashboard/${account.username}`, { bearer: reply.json.access_token })
      expect(dashboard.json.user.last_login_time).toBe(reply.json.user.last_login_time)
    })

    it('two logins give two distinct tokens (random jti)', async () => {
      const account = await register('twice')
      const [a, b] = [await apiLogin(account), await apiLogin(account)]
      expect(jwtParts(a).payload.jti).not.toBe(jwtParts(b).payload.jti)
    })

    it('form: sets the session cookie (HttpOnly, SameSite=Lax, Path=/, Max-Age=TTL, no Secure) and 303s to the dashboard', async () => {
      const account = await register('Cookie')
      const reply = await http.postForm('/login', creds(account))
      expect(reply.status).toBe(303)
      expect(reply.location).toBe(`/dashboard/${account.username}`)
      expect(reply.headers.get('cache-control')).toBe('no-store')
      expect(reply.setCookies).toHaveLength(1)
      const cookie = parseSetCookie(reply.setCookies[0]!)
      expect(cookie.name).toBe('session')
      expect(jwtParts(cookie.value).payload.preferred_username).toBe(account.username)
      expect(cookie.attributes).toEqual({ httponly: '', samesite: 'Lax', path: '/', 'max-age': String(TTL) })
      expectNoSecrets(reply.text, secretsOf(account))
    })

    it('X-Forwarded-Proto: https from an untrusted peer changes nothing: plain session cookie, no Secure', async () => {
      const account = await register('untrusted')
      const reply = await http.postForm('/login', creds(account), { headers: { 'x-forwarded-proto': 'https' } })
      expect(reply.status).toBe(303)
      expect(reply.setCookies).toHaveLength(1)
      expect(parseSetCookie(reply.setCookies[0]!).name).toBe('session')
      expect(parseSetCookie(reply.setCookies[0]!).attributes).not.toHaveProperty('secure')
    })

    it('unknown user and wrong password: 401 invalid_credentials with the very same body', async () => {
      const account = await register('creds')
      const wrong = await http.postJson('/login', { username: account.username, password: `${account.password}!` })
      const unknown = await http.postJson('/login', { username: uniqueUsername('ghost'), password: account.password })
      expectProblem(wrong, 401, 'invalid_credentials', secretsOf(account))
      expectProblem(unknown, 401, 'invalid_credentials', secretsOf(account))
      expect(unknown.text).toBe(wrong.text)
      expect(wrong.setCookies).toEqual([])
    })

    it('form with a wrong password: 401 login page with the message, the username kept, the password not', async () => {
      const account = await register('formbad')
      const password = `${account.password}?`
      const reply = await http.postForm('/login', { username: account.username, password })
      expect(reply.status).toBe(401)
      expect(reply.contentType).toMatch(/^text\/html/)
      expect(reply.text).toContain('Invalid username or password')
      expect(inputValue(reply.text, 'username')).toBe(account.username)
      expect(inputValue(reply.text, 'password')).toBeUndefined()
      expect(reply.setCookies.filter((c) => c.startsWith('session='))).toEqual([])
      expectNoSecrets(reply.text, [password, ...secretsOf(account)])
    })

    it('form: what was typed as username is escaped when shown again', async () => {
      const username = '"><img src=x onerror=alert(1)>'
      const reply = await http.postForm('/login', { username, password: 'whatever-whatever' })
      expect(reply.status).toBe(401)
      expect(reply.text).not.toContain('<img src=x')
      expect(inputValue(reply.text, 'username')).toMatch(/^&(quot|#34);&gt;&lt;img src=x onerror=alert\(1\)&gt;$/)
    })

    it.each([
      ['no password', { username: 'someone' }, ['password']],
      ['no username', { password: 'something-long-enough' }, ['username']],
      ['an empty password', { username: 'someone', password: '' }, ['password']],
    ])('JSON with %s: 400 validation_failed', async (_label, body, fields) => {
      const reply = await http.postJson('/login', body)
      expectProblem(reply, 400, 'validation_failed', serverSecrets)
      expect(reply.json.errors.map((e: { field: string }) => e.field)).toEqual(fields)
    })
  })

  describe('GET /dashboard/<username>', () => {
    it('HTML with the session cookie: username, creation, last login and expiry; no-store', async () => {
      const account = await register('Dash')
      const jar = await browserLogin(account)
      const reply = await http.getHtml(`/dashboard/${account.username}`, { jar })
      expect(reply.status).toBe(200)
      expect(reply.contentType).toMatch(/^text\/html/)
      expect(reply.headers.get('cache-control')).toBe('no-store')
      expect(reply.text).toContain(account.username)
      const created = timeAfter(reply.text, 'Account created')
      const lastLogin = timeAfter(reply.text, 'Last sign-in')
      const expires = timeAfter(reply.text, 'Session expires')
      expect(created).toBe(account.created_at)
      expect(Date.parse(lastLogin!)).toBeGreaterThanOrEqual(Date.parse(created!))
      // the session ends TTL after the (whole-second) login
      expect(Date.parse(expires!) - Date.parse(lastLogin!)).toBeGreaterThan((TTL - 1) * 1000)
      expect(Date.parse(expires!) - Date.parse(lastLogin!)).toBeLessThanOrEqual(TTL * 1000)
      expect(reply.text).toMatch(/<form[^>]*action="\/logout"/)
      expect(reply.text).toMatch(/<form[^>]*action="\/password"/)
      expectNoSecrets(reply.text, [...secretsOf(account), jar.get('session')!])
    })

    it('JSON with a Bearer token: 200 user, session.expires_at and the live sessions; no-store', async () => {
      const account = await register('dashjson')
      const token = await apiLogin(account)
      const reply = await http.getJson(`/dashboard/${account.username}`, { bearer: token })
      expect(reply.status).toBe(200)
      expect(reply.headers.get('cache-control')).toBe('no-store')
      expect(reply.json).toEqual({
        user: { id: account.id, username: account.username, created_at: account.created_at, last_login_time: expect.any(String) },
        session: { expires_at: new Date(jwtParts(token).payload.exp * 1000).toISOString() },
        sessions: [{ id: expect.stringMatching(/^[\w-]{22}$/), created_at: expect.any(String), expires_at: new Date(jwtParts(token).payload.exp * 1000).toISOString(), current: true }],
      })
      expectNoSecrets(reply.text, secretsOf(account))
    })

    it('the session cookie works for JSON too, and the bearer token wins over it', async () => {
      const mine = await register('cookiejson')
      const other = await register('bearerwins')
      const jar = await browserLogin(mine)
      const viaCookie = await http.getJson(`/dashboard/${mine.username}`, { jar })
      expect(viaCookie.status).toBe(200)
      const otherToken = await apiLogin(other)
      const both = await http.getJson(`/dashboard/${other.username}`, { jar, bearer: otherToken })
      expect(both.status).toBe(200)
      expect(both.json.user.username).toBe(other.username)
    })

    describe('without a usable session', () => {
      it('HTML, no session: 303 to /', async () => {
        const account = await register('nosess')
        const reply = await http.getHtml(`/dashboard/${account.username}`)
        expect(reply.status).toBe(303)
        expect(reply.location).toBe('/')
      })

      it('HTML, unknown user while not signed in: 303 to /', async () => {
        const reply = await http.getHtml(`/dashboard/${uniqueUsername('nobody')}`)
        expect(reply.status).toBe(303)
        expect(reply.location).toBe('/')
      })

      it('HTML, an invalid session cookie: 303 to / and the cookie is cleared', async () => {
        const account = await register('badcookie')
        const jar = new CookieJar()
        jar.cookies.set('session', 'not.a.token')
        const reply = await http.getHtml(`/dashboard/${account.username}`, { jar })
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
        const account = await register('nojson')
        const bearer = token()
        const reply = await http.getJson(`/dashboard/${account.username}`, bearer ? { bearer } : {})
        expectProblem(reply, 401, 'unauthorized', secretsOf(account))
      })

      it('revoked (after logout): JSON 401 unauthorized, HTML 303 to /', async () => {
        const account = await register('revoked')
        const token = await apiLogin(account)
        expect((await http.postJson('/logout', {}, { bearer: token })).status).toBe(204)
        const json = await http.getJson(`/dashboard/${account.username}`, { bearer: token })
        expectProblem(json, 401, 'unauthorized', secretsOf(account))
        const jar = new CookieJar()
        jar.cookies.set('session', token)
        const html = await http.getHtml(`/dashboard/${account.username}`, { jar })
        expect(html.status).toBe(303)
        expect(html.location).toBe('/')
      })

      it('expired token: JSON 401 session_expired; HTML 303 to / which says so (two Set-Cookie intact)', async () => {
        const account = await register('expired')
        const signedIn = new Date(Date.now() - 2 * TTL * 1000)
        const { token } = await createSession(service.runtime.db, account, signedIn, service.runtime)

        const json = await http.getJson(`/dashboard/${account.username}`, { bearer: token })
        expectProblem(json, 401, 'session_expired', secretsOf(account))

        const jar = new CookieJar()
        jar.cookies.set('session', token)
        const html = await http.getHtml(`/dashboard/${account.username}`, { jar })
        expect(html.status).toBe(303)
        expect(html.location).toBe('/')
        const cookies = html.setCookies.map(parseSetCookie)
        expect(cookies.map((c) => c.name).sort()).toEqual(['notice', 'session'])
        expect(cookies.find((c) => c.name === 'session')).toMatchObject({ value: '', attributes: { 'max-age': '0', path: '/' } })
        expect(cookies.find((c) => c.name === 'notice')).toMatchObject({ value: 'expired', attributes: { path: '/' } })
        const page = await http.getHtml('/', { jar })
        expect(page.status).toBe(200)
        expect(page.text).toContain('Your session expired')
        expect(jar.get('session')).toBeUndefined()
      })

      it('more than the TTL since the login (token exp still ahead): 401 session_expired', async () => {
        const account = await register('oldlogin')
        const token = await apiLogin(account)
        expect((await http.getJson(`/dashboard/${account.username}`, { bearer: token })).status).toBe(200)
        await service.runtime.db.none(
          `UPDATE sessions SET created_at = created_at - interval '${TTL + 60} seconds' WHERE id = $1`,
          [jwtParts(token).payload.jti],
        )
        const reply = await http.getJson(`/dashboard/${account.username}`, { bearer: token })
        expectProblem(reply, 401, 'session_expired', secretsOf(account))
      })
    })

    it('signed in as someone else: HTML 403, JSON 403 forbidden (also for a name that does not exist)', async () => {
      const me = await register('me')
      const other = await register('other')
      const jar = await browserLogin(me)
      const html = await http.getHtml(`/dashboard/${other.username}`, { jar })
      expect(html.status).toBe(403)
      expect(html.contentType).toMatch(/^text\/html/)
      expect(html.text).not.toContain(other.created_at)
      const token = await apiLogin(me)
      for (const name of [other.username, uniqueUsername('ghost')]) {
        const json = await http.getJson(`/dashboard/${name}`, { bearer: token })
        expectProblem(json, 403, 'forbidden', [...secretsOf(me), other.password])
        expect(json.text).not.toContain(other.created_at)
      }
    })

    function forgeToken(alg: 'HS256' | 'none'): string {
      const part = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url')
      const now = Math.floor(Date.now() / 1000)
      const claims = { sub: '1', preferred_username: 'x', jti: 'forged', iat: now, exp: now + 600, iss: 'gateway-auth', aud: 'gateway-auth' }
      const unsigned = `${part({ alg, typ: 'JWT' })}.${part(claims)}`
      if (alg === 'none') return `${unsigned}.`
      return `${unsigned}.${Buffer.from('not the signature of this token!').toString('base64url')}`
    }
  })

  describe('POST /password', () => {
    it('JSON: 204; the other sessions are revoked, this one stays; only the new password signs in', async () => {
      const account = await register('Pw')
      const current = await apiLogin(account)
      const elsewhere = await apiLogin(account)
      const newPassword = strongPassword()
      const reply = await http.postJson('/password', { current_password: account.password, new_password: newPassword }, { bearer: current })
      expect(reply.status).toBe(204)
      expect(reply.text).toBe('')
      expect((await http.getJson(`/dashboard/${account.username}`, { bearer: current })).status).toBe(200)
      expectProblem(await http.getJson(`/dashboard/${account.username}`, { bearer: elsewhere }), 401, 'unauthorized')
      expectProblem(await http.postJson('/login', creds(account)), 401, 'invalid_credentials')
      await apiLogin({ username: account.username, password: newPassword })
    })

    it('form: 303 to the dashboard, which then shows "password changed"', async () => {
      const account = await register('pwform')
      const jar = await browserLogin(account)
      const newPassword = strongPassword()
      const reply = await http.postForm('/password', { current_password: account.password, new_password: newPassword }, { jar })
      expect(reply.status).toBe(303)
      expect(reply.location).toBe(`/dashboard/${account.username}`)
      const page = await http.getHtml(reply.location!, { jar })
      expect(page.status).toBe(200)
      expect(page.text).toContain('Your password was changed')
      expectNoSecrets(page.text, [account.password, newPassword, ...serverSecrets])
    })

    it('wrong current password: 400 validation_failed on current_password (JSON); the dashboard again (form)', async () => {
      const account = await register('pwwrong')
      const token = await apiLogin(account)
      const newPassword = strongPassword()
      const json = await http.postJson('/password', { current_password: 'not my password at all', new_password: newPassword }, { bearer: token })
      expectProblem(json, 400, 'validation_failed', [newPassword, ...secretsOf(account)])
      expect(json.json.errors).toEqual([{ field: 'current_password', message: expect.any(String) }])

      const jar = await browserLogin(account)
      const html = await http.postForm('/password', { current_password: 'not my password at all', new_password: newPassword }, { jar })
      expect(html.status).toBe(400)
      expect(html.contentType).toMatch(/^text\/html/)
      expect(html.text).toContain(account.username)
      expect(html.text).toContain('The current password is wrong')
      expect(html.text).not.toContain('not my password at all')
      expectNoSecrets(html.text, [newPassword, ...secretsOf(account)])
      // nothing changed
      await apiLogin(account)
    })

    it.each([
      ['too short', () => 'short one', 'new_password'],
      ['containing the username', (name: string) => `the ${name} of mine, long`, 'new_password'],
      ['common', () => COMMON_PASSWORD, 'new_password'],
    ])('a new password that is %s: 400 validation_failed on new_password', async (_label, make, field) => {
      const account = await register('pwrule')
      const token = await apiLogin(account)
      const reply = await http.postJson('/password', { current_password: account.password, new_password: make(account.username) }, { bearer: token })
      expectProblem(reply, 400, 'validation_failed', secretsOf(account))
      expect(reply.json.errors.map((e: { field: string }) => e.field)).toEqual([field])
    })

    it('no session: JSON 401 unauthorized; form 303 to /', async () => {
      const body = { current_password: 'x'.repeat(20), new_password: strongPassword() }
      expectProblem(await http.postJson('/password', body), 401, 'unauthorized')
      const form = await http.postForm('/password', body)
      expect(form.status).toBe(303)
      expect(form.location).toBe('/')
    })
  })

  describe('POST /logout', () => {
    it('JSON: 204, and the same token is refused afterwards although it has not expired', async () => {
      const account = await register('Out')
      const token = await apiLogin(account)
      const reply = await http.postJson('/logout', {}, { bearer: token })
      expect(reply.status).toBe(204)
      expect(jwtParts(token).payload.exp * 1000).toBeGreaterThan(Date.now())
      expectProblem(await http.getJson(`/dashboard/${account.username}`, { bearer: token }), 401, 'unauthorized')
      expectProblem(
        await http.postJson('/password', { current_password: account.password, new_password: strongPassword() }, { bearer: token }),
        401,
        'unauthorized',
      )
    })

    it('form: 303 to /, the cookie cleared, and the old cookie no longer opens the dashboard', async () => {
      const account = await register('outform')
      const jar = await browserLogin(account)
      const token = jar.get('session')!
      const reply = await http.postForm('/logout', {}, { jar })
      expect(reply.status).toBe(303)
      expect(reply.location).toBe('/')
      const cleared = reply.setCookies.map(parseSetCookie).find((c) => c.name === 'session')
      expect(cleared).toMatchObject({ value: '', attributes: { 'max-age': '0', path: '/', httponly: '' } })
      expect(jar.get('session')).toBeUndefined()
      const page = await http.getHtml('/', { jar })
      expect(page.text).toContain('You are signed out')
      const replayed = new CookieJar()
      replayed.cookies.set('session', token)
      const dashboard = await http.getHtml(`/dashboard/${account.username}`, { jar: replayed })
      expect(dashboard.status).toBe(303)
      expect(dashboard.location).toBe('/')
    })

    it('without a session, and twice: the same answers (idempotent)', async () => {
      expect((await http.postJson('/logout', {})).status).toBe(204)
      const form = await http.postForm('/logout', {})
      expect(form.status).toBe(303)
      expect(form.location).toBe('/')
      const account = await register('outtwice')
      const token = await apiLogin(account)
      expect((await http.postJson('/logout', {}, { bearer: token })).status).toBe(204)
      expect((await http.postJson('/logout', {}, { bearer: token })).status).toBe(204)
    })
  })

  describe('GET /health and /static', () => {
    it('GET /health: 200 {"status":"ok","database":"ok"}, JSON whatever Accept says', async () => {
      for (const accept of ['application/json', 'text/html']) {
        const reply = await http.get('/health', { headers: { accept } })
        expect(reply.status).toBe(200)
        expect(reply.contentType).toMatch(/^application\/json/)
        expect(reply.json).toEqual({ status: 'ok', database: 'ok' })
      }
    })

    it('GET /static/style.css: the stylesheet with a long cache lifetime; the pages link it', async () => {
      const reply = await http.get('/static/style.css')
      expect(reply.status).toBe(200)
      expect(reply.contentType).toMatch(/^text\/css/)
      expect(reply.text).toMatch(/body\s*\{/)
      const cacheControl = reply.headers.get('cache-control') ?? ''
      expect(cacheControl).not.toMatch(/no-store|no-cache|private/)
      expect(Number(/max-age=(\d+)/.exec(cacheControl)?.[1])).toBeGreaterThanOrEqual(30 * 24 * 3600)
      expect(reply.headers.get('x-content-type-options')).toBe('nosniff')

      const page = await http.getHtml('/')
      const href = /<link[^>]*rel="stylesheet"[^>]*href="([^"]+)"/.exec(page.text)?.[1]
      expect(href).toMatch(/^\/static\/style\.css/)
      const linked = await http.get(href!.replaceAll('&amp;', '&'))
      expect(linked.status).toBe(200)
      expect(linked.text).toBe(reply.text)
    })

    it.each(['/static/missing.css', '/static/..%2Fpackage.json', '/static/%2e%2e%2fpackage.json', '/static/style.css%00.png'])(
      'GET %s: 404 not_found, nothing from outside the static directory',
      async (path) => {
        const reply = await http.getJson(path)
        expectProblem(reply, 404, 'not_found', serverSecrets)
        expect(reply.text).not.toContain('gateway-auth')
      },
    )
  })

  describe('404, 405 and request bodies', () => {
    it.each(['/nope', '/dashboard', '/dashboard/a/b', '/api/login', '/static', '/health/x'])('GET %s: 404 not_found', async (path) => {
      const json = await http.getJson(path)
      expect(json.headers.get('allow')).toBeNull()
      expectProblem(json, 404, 'not_found', serverSecrets)
      const html = await http.getHtml(path)
      expect(html.status).toBe(404)
      expect(html.contentType).toMatch(/^text\/html/)
    })

    it.each([
      ['GET', '/logout', ['POST']],
      ['GET', '/password', ['POST']],
      ['POST', '/health', ['GET', 'HEAD']],
      ['POST', '/', ['GET', 'HEAD']],
      ['PUT', '/register', ['GET', 'HEAD', 'POST']],
      ['DELETE', '/login', ['GET', 'HEAD', 'POST']],
      ['DELETE', '/dashboard/somebody', ['GET', 'HEAD']],
      ['PATCH', '/static/style.css', ['GET', 'HEAD']],
      ['OPTIONS', '/login', ['GET', 'HEAD', 'POST']],
      ['OPTIONS', '/', ['GET', 'HEAD']],
    ])('%s %s: 405 method_not_allowed with Allow', async (method, path, allowed) => {
      const reply = await http.call(path, { method, headers: { accept: 'application/json' } })
      expectProblem(reply, 405, 'method_not_allowed', serverSecrets)
      expect(allowSet(reply)).toEqual(new Set(allowed))
    })

    it('TRACE on a known path: 405 with Allow, the request not echoed', async () => {
      const reply = await rawRequest(service.baseUrl, {
        method: 'TRACE',
        path: '/login',
        headers: { accept: 'application/json', 'x-secret-header': 'do-not-echo' },
      })
      expect(reply.status).toBe(405)
      expect(String(reply.headers['content-type'])).toMatch(/^application\/problem\+json/)
      expect(JSON.parse(reply.text).code).toBe('method_not_allowed')
      expect(new Set(String(reply.headers.allow).split(/,\s*/))).toEqual(new Set(['GET', 'HEAD', 'POST']))
      expect(reply.text).not.toContain('do-not-echo')
      expect(reply.headers['x-powered-by']).toBeUndefined()
    })

    it('a form posted to a GET-only page: 405 as an HTML page with Allow', async () => {
      const reply = await http.postForm('/', { username: 'x' })
      expect(reply.status).toBe(405)
      expect(reply.contentType).toMatch(/^text\/html/)
      expect(allowSet(reply)).toEqual(new Set(['GET', 'HEAD']))
    })

    /** A JSON login body of exactly `bytes` bytes. */
    const big = (bytes: number) => {
      const base = JSON.stringify({ username: 'someone', password: 'p'.repeat(30), pad: '' })
      return base.replace('"pad":""', `"pad":"${'x'.repeat(bytes - base.length)}"`)
    }

    it('a 20 KiB JSON body: 413 payload_too_large', async () => {
      const body = big(20 * 1024)
      const reply = await http.call('/login', { method: 'POST', body, headers: { 'content-type': 'application/json', accept: 'application/json' } })
      expectProblem(reply, 413, 'payload_too_large', serverSecrets)
    })

    it('a 20 KiB chunked body without Content-Length: 413 payload_too_large', async () => {
      const body = Buffer.from(big(20 * 1024))
      const chunks = Array.from({ length: 20 }, (_, i) => body.subarray(i * 1024, (i + 1) * 1024))
      const reply = await rawRequest(service.baseUrl, {
        method: 'POST',
        path: '/register',
        headers: { 'content-type': 'application/json', accept: 'application/json', 'transfer-encoding': 'chunked' },
        chunks,
      })
      expect(reply.status).toBe(413)
      expect(String(reply.headers['content-type'])).toMatch(/^application\/problem\+json/)
      expect(JSON.parse(reply.text)).toMatchObject({ status: 413, code: 'payload_too_large' })
    })

    it('a 20 KiB form: 413 as an HTML page', async () => {
      const reply = await http.postForm('/register', { username: 'someone', password: 'x'.repeat(20 * 1024) })
      expect(reply.status).toBe(413)
      expect(reply.contentType).toMatch(/^text\/html/)
      expect(reply.text).not.toContain('x'.repeat(100))
    })

    it('exactly 16 KiB is still read (the limit is inclusive), one byte more is not', async () => {
      const headers = { 'content-type': 'application/json', accept: 'application/json' }
      const atLimit = await http.call('/login', { method: 'POST', body: big(16 * 1024), headers })
      expectProblem(atLimit, 401, 'invalid_credentials')
      const over = await http.call('/login', { method: 'POST', body: big(16 * 1024 + 1), headers })
      expectProblem(over, 413, 'payload_too_large')
    })

    it.each([
      ['text/plain', 'username=a&password=b'],
      ['multipart/form-data; boundary=x', '--x\r\nContent-Disposition: form-data; name="username"\r\n\r\na\r\n--x--\r\n'],
      ['application/xml', '<login/>'],
      [undefined, '{"username":"a","password":"b"}'],
    ])('a %s body: 415 unsupported_media_type', async (contentType, body) => {
      const headers: Record<string, string> = { accept: 'application/json' }
      if (contentType) headers['content-type'] = contentType
      const reply = await http.call('/login', { method: 'POST', body, headers })
      expectProblem(reply, 415, 'unsupported_media_type', serverSecrets)
    })

    it.each([
      ['malformed JSON', '{"username": "a", "password": '],
      ['a JSON array', '[{"username": "a"}]'],
      ['a JSON string', '"username"'],
      ['JSON null', 'null'],
      ['a JSON number', '42'],
    ])('%s: 400 validation_failed, never 500', async (_label, body) => {
      const reply = await http.call('/register', { method: 'POST', body, headers: { 'content-type': 'application/json' } })
      expectProblem(reply, 400, 'validation_failed', serverSecrets)
      expect(reply.text).not.toMatch(/Unexpected|SyntaxError|position/)
    })

    it('a field sent twice in a form: 400 validation_failed, not a crash', async () => {
      const reply = await http.call('/login', {
        method: 'POST',
        body: 'username=a&username=b&password=c',
        headers: { 'content-type': 'application/x-www-form-urlencoded', origin: service.baseUrl },
      })
      expect(reply.status).toBe(400)
      expect(reply.contentType).toMatch(/^text\/html/)
    })
  })

  describe('browser safety', () => {
    it('every HTML page carries CSP, nosniff, Referrer-Policy and denies framing; account pages are no-store', async () => {
      const account = await register('safe')
      const jar = await browserLogin(account)
      const other = await register('safe2')
      const pages: Reply[] = [
        await http.getHtml('/'),
        await http.getHtml('/login'),
        await http.getHtml('/register'),
        await http.getHtml('/nope'),
        await http.postForm('/login', { username: account.username, password: 'wrong password here' }),
        await http.postForm('/register', { username: 'x', password: 'y' }),
        await http.call('/login', { method: 'POST', form: creds(account), headers: { origin: FOREIGN_ORIGIN } }),
        await http.getHtml(`/dashboard/${other.username}`, { jar }),
        await http.getHtml(`/dashboard/${account.username}`, { jar }),
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
      for (const reply of [await http.get('/'), await http.get('/static/style.css'), await http.get('/health'), await http.getJson('/nope')]) {
        expect(reply.headers.get('x-powered-by')).toBeNull()
      }
    })

    it.each([
      ['a foreign Origin', () => ({ origin: FOREIGN_ORIGIN })],
      ['Origin: null', () => ({ origin: 'null' })],
      ['its own host and port over https', () => ({ origin: service.baseUrl.replace(/^http:/, 'https:') })],
      ['another port of its host', () => ({ origin: 'http://127.0.0.1:1' })],
      ['Sec-Fetch-Site: cross-site', () => ({ 'sec-fetch-site': 'cross-site' })],
    ])('a login form with %s: 403 cross_origin_rejected, no cookie', async (_label, makeHeaders) => {
      const account = await register('csrf')
      const headers: Record<string, string> = makeHeaders()
      const reply = await http.call('/login', { method: 'POST', form: creds(account), headers })
      expect(reply.status).toBe(403)
      expect(reply.contentType).toMatch(/^text\/html/)
      expect(reply.text).toContain('Cross-origin request rejected')
      expect(reply.setCookies.filter((c) => c.startsWith('session'))).toEqual([])
      const json = await http.call('/login', { method: 'POST', form: creds(account), headers: { ...headers, accept: 'application/json' } })
      expect(json.status).toBe(403)
    })

    it('a registration form from another site creates no account', async () => {
      const account = { username: uniqueUsername('csrfreg'), password: strongPassword() }
      const reply = await http.call('/register', { method: 'POST', form: creds(account), headers: { origin: FOREIGN_ORIGIN } })
      expect(reply.status).toBe(403)
      expect((await http.postJson('/register', account)).status).toBe(201)
    })

    it('cross-site posts carrying the session cookie are refused and change nothing', async () => {
      const account = await register('csrfcookie')
      const jar = await browserLogin(account)
      const evil = { origin: FOREIGN_ORIGIN, accept: 'application/json' }
      const form = await http.call('/password', {
        method: 'POST',
        form: { current_password: account.password, new_password: strongPassword() },
        headers: evil,
        jar,
      })
      expect(form.status).toBe(403)
      expect(form.contentType).toMatch(/^text\/html/)
      const json = await http.call('/password', {
        method: 'POST',
        json: { current_password: account.password, new_password: strongPassword() },
        headers: evil,
        jar,
      })
      expectProblem(json, 403, 'cross_origin_rejected', secretsOf(account))
      // a JSON body does not exempt a request that carries the cookie
      const logout = await http.call('/logout', { method: 'POST', json: {}, headers: { 'sec-fetch-site': 'cross-site' }, jar })
      expectProblem(logout, 403, 'cross_origin_rejected')
      expect((await http.getHtml(`/dashboard/${account.username}`, { jar })).status).toBe(200)
      await apiLogin(account)
    })

    it('same-origin forms work: Origin = the service, or Sec-Fetch-Site: same-origin', async () => {
      const account = await register('sameorigin')
      const viaOrigin = await http.call('/login', { method: 'POST', form: creds(account), headers: { origin: service.baseUrl } })
      expect(viaOrigin.status).toBe(303)
      const viaFetchMetadata = await http.call('/login', { method: 'POST', form: creds(account), headers: { 'sec-fetch-site': 'same-origin' } })
      expect(viaFetchMetadata.status).toBe(303)
    })

    it('an API client (JSON, no cookie) is not a browser: its Origin does not matter', async () => {
      const account = await register('apiclient')
      const reply = await http.postJson('/login', creds(account), { headers: { origin: FOREIGN_ORIGIN } })
      expect(reply.status).toBe(200)
    })
  })

  describe('error scenarios (JSON problem details, nothing secret)', () => {
    let account: Account & { id: string }
    let token: string
    let jar: CookieJar
    beforeAll(async () => {
      account = await register('scenario')
      token = await apiLogin(account)
      jar = await browserLogin(account)
    })

    const scenarios: [string, number, string, () => Promise<Reply>][] = [
      ['register, taken name', 409, 'username_taken', () => http.postJson('/register', { username: account.username, password: strongPassword() })],
      ['register, invalid', 400, 'validation_failed', () => http.postJson('/register', { username: '!', password: account.password })],
      ['login, wrong password', 401, 'invalid_credentials', () => http.postJson('/login', { username: account.username, password: `${account.password}x` })],
      ['login, password as username', 401, 'invalid_credentials', () => http.postJson('/login', { username: account.password, password: account.password })],
      ['dashboard, no token', 401, 'unauthorized', () => http.getJson(`/dashboard/${account.username}`)],
      ['dashboard, other user', 403, 'forbidden', () => http.getJson(`/dashboard/${uniqueUsername('x')}`, { bearer: token })],
      ['password, wrong current', 400, 'validation_failed', () => http.postJson('/password', { current_password: `${account.password}x`, new_password: strongPassword() }, { bearer: token })],
      ['password, no session', 401, 'unauthorized', () => http.postJson('/password', { current_password: account.password, new_password: strongPassword() })],
      ['cross-origin post with the cookie', 403, 'cross_origin_rejected', () => http.call('/logout', { method: 'POST', json: {}, headers: { origin: FOREIGN_ORIGIN }, jar })],
      ['unknown path', 404, 'not_found', () => http.getJson(`/${account.password.replaceAll(' ', '-')}`)],
      ['wrong method', 405, 'method_not_allowed', () => http.call('/health', { method: 'PUT', headers: { accept: 'application/json' } })],
      ['too large', 413, 'payload_too_large', () => http.postJson('/login', { username: account.username, password: account.password, pad: 'x'.repeat(17 * 1024) })],
      ['wrong type', 415, 'unsupported_media_type', () => http.call('/login', { method: 'POST', body: `password=${account.password}`, headers: { 'content-type': 'text/plain', accept: 'application/json' } })],
      ['malformed JSON', 400, 'validation_failed', () => http.call('/login', { method: 'POST', body: `{"password": "${account.password}"`, headers: { 'content-type': 'application/json' } })],
    ]
    it.each(scenarios)('%s → %i %s', async (_label, status, code, send) => {
      const reply = await send()
      expectProblem(reply, status, code, [...secretsOf(account), token])
      expect(reply.json.type).toBe(`/problems/${code}`)
      if (status < 500) expect(reply.json.detail ?? '').not.toMatch(/undefined|null|\[object/)
    })
  })

  describe('behind a trusted proxy (TRUST_PROXY=127.0.0.1)', () => {
    let https: string
    beforeAll(async () => {
      await service.stop()
      service = await startService(kind, { TRUST_PROXY: '127.0.0.1' })
      http = client(service.baseUrl)
      serverSecrets = [service.runtime.jwtSecret]
      https = service.baseUrl.replace(/^http:/, 'https:')
    })

    it('X-Forwarded-Proto: https → __Host-session with Secure; the service accepts that name; logout clears both', async () => {
      const account = await register('proxied')
      const headers = { 'x-forwarded-proto': 'https', 'x-forwarded-for': '198.51.100.7', origin: https }
      const jar = new CookieJar()
      const login = await http.call('/login', { method: 'POST', form: creds(account), headers, jar })
      expect(login.status).toBe(303)
      expect(login.setCookies).toHaveLength(1)
      const cookie = parseSetCookie(login.setCookies[0]!)
      expect(cookie.name).toBe('__Host-session')
      expect(cookie.attributes).toEqual({ httponly: '', samesite: 'Lax', path: '/', 'max-age': String(TTL), secure: '' })
      expect(cookie.attributes.domain).toBeUndefined()

      const dashboard = await http.getHtml(`/dashboard/${account.username}`, { jar, headers })
      expect(dashboard.status).toBe(200)
      expect(dashboard.text).toContain(account.username)

      const logout = await http.call('/logout', { method: 'POST', form: {}, headers, jar })
      expect(logout.status).toBe(303)
      const cleared = logout.setCookies.map(parseSetCookie).filter((c) => !c.name.endsWith('notice'))
      expect(cleared.map((c) => c.name).sort()).toEqual(['__Host-session', 'session'])
      for (const c of cleared) expect(c.attributes['max-age']).toBe('0')
      expect(cleared.find((c) => c.name === '__Host-session')!.attributes.secure).toBe('')
    })

    it('without X-Forwarded-Proto the proxy is plain HTTP: session cookie, no Secure', async () => {
      const account = await register('proxyplain')
      const reply = await http.postForm('/login', creds(account))
      expect(reply.status).toBe(303)
      expect(parseSetCookie(reply.setCookies[0]!).name).toBe('session')
      expect(parseSetCookie(reply.setCookies[0]!).attributes).not.toHaveProperty('secure')
    })

    it('over HTTPS a form must come from the https origin', async () => {
      const account = await register('proxyorigin')
      const reply = await http.call('/login', {
        method: 'POST',
        form: creds(account),
        headers: { 'x-forwarded-proto': 'https', origin: service.baseUrl },
      })
      expect(reply.status).toBe(403)
    })
  })
})
