// POST /login (docs/api.md): checks the credentials, records the login time and starts a session —
// a Bearer token for JSON clients, a cookie and a 303 to the dashboard for forms. GET /login is
// the sign-in page (tests/functions/index.test.ts holds the rest of it).
import { expect } from 'vitest'
import jwt from 'jsonwebtoken'
import { findUserByUsername, updatePasswordHash } from '#lib/auth/users.ts'
import { hashPassword } from '#lib/auth/password.ts'
import { hashPoolFor } from '#lib/auth/hash-pool.ts'
import { defaultValue } from '#lib/platform/config.ts'
import { pseudonym } from '#lib/platform/log.ts'
import { expectProblem } from '../helpers/expect.ts'
import { uniqueUsername } from '../helpers/factories.ts'
import { jwtParts, parseSetCookie, type Call } from '../helpers/http.ts'
import { inputValue } from '../helpers/pages.ts'
import { ACCOUNT, lookalikes, runScenarios, type Scenario, type ScenarioContext } from '../helpers/scenarios.ts'

const SESSION_TTL_SECONDS = defaultValue('SESSION_TTL_SECONDS') as number
/** Each scenario starts from a registered account that has not signed in yet. */
const startingRegistered = (rows: Scenario[]) => rows.map((row): Scenario => ({ as: 'account', ...row }))
const credentials = ({ account }: ScenarioContext) => ({ username: account.username, password: account.password })
const loginJson = (json: unknown): Call & { path: string } => ({ path: '/login', method: 'POST', json })
const loginForm = (ctx: ScenarioContext, form: Record<string, string>): Call & { path: string } => ({
  path: '/login',
  method: 'POST',
  form,
  headers: { origin: ctx.service.origin },
})
runScenarios(
  'POST /login',
  startingRegistered([
    {
      name: 'JSON: 200 with a Bearer token valid for the TTL, the user, and the login time recorded',
      request: (ctx) => loginJson({ username: ctx.account.username.toLowerCase(), password: ctx.account.password }),
      expect: {
        status: 200,
        json: { token_type: 'Bearer' },
        headers: { 'cache-control': 'no-store' },
        logs: [{ event: 'login_succeeded', level: 30, userId: ACCOUNT.id, signInMethod: 'password', path: '/login' }],
      },
      async after({ service, account, sentAt }, reply) {
        // the name is matched case-insensitively and answered as registered
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
        // exactly SESSION_TTL_SECONDS, whatever fraction of a second the sign-in started at
        expect(reply.json.expires_in).toBe(SESSION_TTL_SECONDS)
        expect(reply.contentType).toMatch(/^application\/json/)
        expect(reply.setCookies).toEqual([])
        const row = await findUserByUsername(service.runtime.db, account.username)
        expect(row?.lastLoginTime?.toISOString()).toBe(reply.json.user.last_login_time)
        const loginTime = Date.parse(reply.json.user.last_login_time)
        expect(loginTime).toBeGreaterThanOrEqual(sentAt - 1000)
        expect(loginTime).toBeLessThanOrEqual(Date.now() + 1000)
        // the login time is the one the dashboard reports
        const dashboard = await service.dashboard(account.username, reply.json.access_token)
        expect(dashboard.json.user.last_login_time).toBe(reply.json.user.last_login_time)
      },
    },
    {
      name: 'JSON: the token is HS256 with sub, preferred_username, iss, aud, exp = iat + TTL and a 256-bit jti',
      request: (ctx) => loginJson(credentials(ctx)),
      expect: { status: 200 },
      async after({ service, account }, reply) {
        const token = reply.json.access_token as string
        const { header, payload } = jwtParts(token)
        expect(header).toMatchObject({ alg: 'HS256', typ: 'JWT' })
        expect(payload).toMatchObject({
          sub: account.id,
          preferred_username: account.username,
          iss: 'gateway-auth',
          aud: 'gateway-auth',
        })
        expect(payload.exp - payload.iat).toBe(SESSION_TTL_SECONDS)
        expect(payload.jti).toMatch(/^[A-Za-z0-9_-]{43}$/)
        expect(Buffer.from(payload.jti, 'base64url').length).toBe(32)
        expect(() => jwt.verify(token, service.runtime.jwtSecret, { algorithms: ['HS256'] })).not.toThrow()
        // the server keeps a live session row under the jti
        const session = await service.runtime.db.one(
          'SELECT user_id::text AS "userId", revoked_at AS "revokedAt" FROM sessions WHERE id = $1',
          [payload.jti],
        )
        expect(session).toEqual({ userId: account.id, revokedAt: null })
      },
    },
    {
      name: 'JSON: every login gets its own random jti: eight sign-ins, eight ids with no common prefix',
      request: (ctx) => loginJson(credentials(ctx)),
      expect: { status: 200 },
      async after(ctx, reply) {
        const ids = [jwtParts(reply.json.access_token).payload.jti as string]
        for (let i = 0; i < 7; i++) ids.push(jwtParts(await ctx.service.apiLogin(ctx.account)).payload.jti)
        expect(new Set(ids).size).toBe(8)
        // not a counter or a timestamp
        expect(new Set(ids.map((id) => id.slice(0, 3))).size).toBeGreaterThan(4)
      },
    },
    {
      name: 'JSON: a sign-in with a Bearer token ends that session and starts a new one',
      as: 'api',
      request: (ctx) => ({ ...loginJson(credentials(ctx)), bearer: ctx.token }),
      expect: { status: 200 },
      async after(ctx, reply) {
        expectProblem(await ctx.service.dashboard(ctx.account.username, ctx.token), 401, 'unauthorized')
        expect((await ctx.service.dashboard(ctx.account.username, reply.json.access_token)).status).toBe(200)
      },
    },
    {
      name: 'form: a sign-in ends the session the browser held and sets a new cookie',
      as: 'browser',
      request: (ctx) => loginForm(ctx, credentials(ctx)),
      expect: { status: 303, cookies: { session: /./ } },
      async after(ctx) {
        const renewed = ctx.jar.get(ctx.service.sessionCookie)!
        expect(jwtParts(renewed).payload.jti).not.toBe(jwtParts(ctx.token).payload.jti)
        expectProblem(await ctx.service.dashboard(ctx.account.username, ctx.token), 401, 'unauthorized')
        expect((await ctx.service.dashboard(ctx.account.username, renewed)).status).toBe(200)
      },
    },
    {
      name: 'JSON: an unknown user and a wrong password get the very same 401 invalid_credentials body',
      request: (ctx) => loginJson({ username: ctx.account.username, password: `${ctx.account.password}!` }),
      expect: {
        status: 401,
        code: 'invalid_credentials',
        json: { detail: 'Check both and try again.' },
        logs: [{ event: 'login_failed', level: 40, userId: ACCOUNT.id, username: ACCOUNT.username }],
      },
      async after({ service, account }, wrong) {
        const ghost = uniqueUsername('ghost')
        const logged = service.logs().length
        const unknown = await service.http.postJson('/login', { username: ghost, password: account.password })
        expectProblem(unknown, 401, 'invalid_credentials', service.secretsOf(account))
        expect(unknown.text).toBe(wrong.text)
        // a name no account has may be a password: logged only as the keyed hash of its lower-cased form
        // (docs/security.md#logging), the same for every spelling, never as text
        await service.http.postJson('/login', { username: ghost.toUpperCase(), password: account.password })
        const failed = service
          .logs()
          .slice(logged)
          .filter((line) => line.event === 'login_failed')
        const hash = pseudonym(ghost.toLowerCase(), service.runtime.jwtSecret)
        expect(failed).toEqual([
          expect.objectContaining({ usernameHash: hash }),
          expect.objectContaining({ usernameHash: hash }),
        ])
        expect(JSON.stringify(failed)).not.toMatch(new RegExp(ghost.split('-')[1]!, 'i'))
        expect(failed[0]).not.toHaveProperty('username')
        expect(wrong.setCookies).toEqual([])
        expect(wrong.text).not.toContain(`${account.password}!`)
        // a failed login records nothing
        expect((await findUserByUsername(service.runtime.db, account.username))?.lastLoginTime).toBeNull()
      },
    },
    ...(
      [
        ['a password over 72 bytes', { username: 'someone', password: '🔑'.repeat(19) }, 'password'],
        ['a 73-byte ASCII password', { username: 'someone', password: 'p'.repeat(73) }, 'password'],
        ['a missing password', { username: 'someone' }, 'password'],
        ['an empty password', { username: 'someone', password: '' }, 'password'],
        ['a missing username', { password: 'harbor lantern quartz' }, 'username'],
        ['a number as username', { username: 42, password: 'harbor lantern quartz' }, 'username'],
        ['an array as password', { username: 'someone', password: ['harbor lantern quartz'] }, 'password'],
        ['null as password', { username: 'someone', password: null }, 'password'],
        [
          'a number as return_to',
          { username: 'someone', password: 'harbor lantern quartz', return_to: 42 },
          'return_to',
        ],
        [
          'a return_to of 2049 characters',
          { username: 'someone', password: 'harbor lantern quartz', return_to: `/${'a'.repeat(2048)}` },
          'return_to',
        ],
      ] as const
    ).map(
      ([label, json, field]): Scenario => ({
        name: `JSON: refuses ${label} with 400 validation_failed naming the field`,
        request: () => loginJson(json),
        expect: { status: 400, code: 'validation_failed' },
        async after(_, reply) {
          expect(reply.json.errors.map((e: { field: string }) => e.field)).toEqual([field])
          const password = (json as { password?: unknown }).password
          if (field === 'password' && typeof password === 'string' && password.length > 20) {
            expect(reply.json.errors[0].message).toMatch(/72/)
            expect(reply.text).not.toContain(password)
          }
        },
      }),
    ),
    {
      name: 'form: 303 to the dashboard with the session cookie (HttpOnly, SameSite=Lax, Path=/, Max-Age=TTL)',
      request: (ctx) =>
        loginForm(ctx, { username: ctx.account.username.toLowerCase(), password: ctx.account.password }),
      expect: { status: 303, headers: { 'cache-control': 'no-store' } },
      async after({ service, account }, reply) {
        expect(reply.location).toBe(`/dashboard/${account.username}`)
        // over HTTPS (API Gateway) the __Host- cookie with Secure; over plain HTTP `session` without it
        expect(reply.setCookies).toHaveLength(1)
        const cookie = parseSetCookie(reply.setCookies[0]!)
        expect(cookie.name).toBe(service.sessionCookie)
        expect(jwtParts(cookie.value).payload.preferred_username).toBe(account.username)
        const secure = service.transport === 'lambda' ? { secure: '' } : {}
        expect(cookie.attributes).toEqual({
          httponly: '',
          samesite: 'Lax',
          path: '/',
          'max-age': String(SESSION_TTL_SECONDS),
          ...secure,
        })
      },
    },
    {
      name: 'return_to: a form goes back to an accepted one (303), JSON echoes it, another site is 400 on the field',
      request: (ctx) => loginForm(ctx, { ...credentials(ctx), return_to: '/account?tab=1' }),
      expect: { status: 303, location: '/account?tab=1' },
      async after(ctx) {
        const json = await ctx.service.http.postJson('/login', { ...credentials(ctx), return_to: '/account' })
        expect(json.json.return_to).toBe('/account')
        // the hidden field of a sign-in page without a destination sends it empty: no destination
        const empty = await ctx.service.http.postJson('/login', { ...credentials(ctx), return_to: '' })
        expect(empty.json).not.toHaveProperty('return_to')
        // the schema takes any string; which may be followed is the access rules' and the origin's
        const evil = await ctx.service.http.postJson('/login', {
          ...credentials(ctx),
          return_to: 'https://evil.example/',
        })
        expect([evil.status, evil.json.code, evil.json.errors?.[0]?.field]).toEqual([
          400,
          'validation_failed',
          'return_to',
        ])
      },
    },
    {
      name: 'form: a wrong password re-renders the login page with 401, the username kept, never the password',
      request: (ctx) => loginForm(ctx, { username: ctx.account.username, password: `${ctx.account.password}?` }),
      expect: { status: 401, headers: { 'content-type': /^text\/html/ } },
      async after({ account }, reply) {
        expect(reply.text).toContain('action="/login"')
        expect(reply.text).toContain('<strong>Invalid username or password.</strong> Check both and try again.</p>')
        expect(inputValue(reply.text, 'username')).toBe(account.username)
        expect(inputValue(reply.text, 'password')).toBeUndefined()
        expect(reply.text).not.toContain(`${account.password}?`)
        expect(reply.setCookies).toEqual([])
      },
    },
    {
      name: 'form: what was typed as username is shown again escaped',
      request: (ctx) => loginForm(ctx, { username: '"><img src=x onerror=alert(1)>', password: 'whatever-whatever' }),
      // no account can have that name: refused as input
      expect: { status: 400 },
      async after(_, reply) {
        expect(reply.text).not.toContain('<img src=x')
        expect(inputValue(reply.text, 'username')).toMatch(/^&(quot|#34);&gt;&lt;img src=x onerror=alert\(1\)&gt;$/)
      },
    },
    {
      name: 'lookalike names: locked out, the name in capitals is too, and no Unicode lookalike signs in or counts apart',
      given: async (ctx) => {
        ctx.account = await ctx.service.register('alice.ks')
        for (let i = 0; i < 3; i++)
          await ctx.service.http.call('/login', loginJson({ ...credentials(ctx), password: 'no' }))
      },
      request: (ctx) => loginJson({ ...credentials(ctx), username: ctx.account.username.toUpperCase() }),
      expect: { status: 429, code: 'rate_limited' },
      async after(ctx) {
        for (const [label, username] of lookalikes(ctx.account.username)) {
          // refused as input before it is counted or looked up: neither signed in nor a counter of its own (401)
          const json = await ctx.service.http.call('/login', loginJson({ ...credentials(ctx), username }))
          expect([json.status, json.json.errors], label).toEqual([
            400,
            [{ field: 'username', message: expect.any(String) }],
          ])
          const form = await ctx.service.http.call('/login', loginForm(ctx, { ...credentials(ctx), username }))
          expect([form.status, form.contentType.split(';')[0], form.setCookies], label).toEqual([400, 'text/html', []])
        }
        // the account's own counter still holds
        const again = await ctx.service.http.call('/login', loginForm(ctx, credentials(ctx)))
        expect(again.status).toBe(429)
      },
    },
    {
      name: 'Content-Encoding: a compressed body is 415 with Accept-Encoding: identity, never read as plain',
      request: (ctx) => ({ ...loginJson(credentials(ctx)), headers: { 'content-encoding': 'gzip' } }),
      expect: { status: 415, code: 'unsupported_media_type', headers: { 'accept-encoding': 'identity' } },
      async after(ctx) {
        for (const encoding of ['br', 'deflate', 'identity, gzip', 'x-custom']) {
          const reply = await ctx.service.http.call('/login', {
            ...loginJson(credentials(ctx)),
            headers: { 'content-encoding': encoding },
          })
          expect([reply.status, reply.headers.get('accept-encoding')], encoding).toEqual([415, 'identity'])
        }
        const form = loginForm(ctx, credentials(ctx))
        const refused = await ctx.service.http.call('/login', {
          ...form,
          headers: { ...form.headers, 'content-encoding': 'br' },
        })
        expect(refused.status).toBe(415)
        // identity is no encoding: the body is read
        const plain = await ctx.service.http.call('/login', {
          ...loginJson(credentials(ctx)),
          headers: { 'content-encoding': 'identity' },
        })
        expect(plain.status).toBe(200)
      },
    },
    {
      name: 'rehashes a password stored at another bcrypt cost on a successful login',
      given: async (ctx) => {
        const { runtime } = ctx.service
        const hashing = {
          pool: hashPoolFor(runtime),
          cost: runtime.config.password.bcryptCost + 1,
          client: '127.0.0.1',
        }
        await updatePasswordHash(runtime.db, ctx.account.id, await hashPassword(hashing, ctx.account.password))
      },
      request: (ctx) => loginJson(credentials(ctx)),
      expect: { status: 200 },
      async after({ service, account }) {
        const cost = String(service.runtime.config.password.bcryptCost).padStart(2, '0')
        const stored = (await findUserByUsername(service.runtime.db, account.username))?.passwordHash
        expect(stored).toMatch(new RegExp(`^\\$2[aby]\\$${cost}\\$`))
      },
    },
    {
      name: 'form: locked out, the login page says 429 and when to try again, matching Retry-After',
      request: (ctx) => loginForm(ctx, { username: ctx.account.username, password: 'not the password' }),
      given: async (ctx) => {
        for (let i = 0; i < 3; i++)
          await ctx.service.http.call('/login', loginForm(ctx, { ...credentials(ctx), password: 'no' }))
      },
      expect: { status: 429 },
      async after({ account }, reply) {
        const seconds = Number(reply.headers.get('retry-after'))
        expect(seconds).toBeGreaterThan(0)
        const retryAt = /You can try again after\s+<time datetime="([^"]+)" data-local="time">/.exec(reply.text)?.[1]
        expect(Math.abs(Date.parse(retryAt!) - (Date.now() + seconds * 1000))).toBeLessThan(5_000)
        expect(reply.text).toContain(`value="${account.username}"`)
        expect(reply.text).toMatch(/Too many failed sign-ins/)
        expect(reply.text).not.toContain(account.password)
        expect(reply.setCookies).toEqual([])
      },
    },
  ]),
  { env: { LOGIN_MAX_FAILURES: '3' } },
)
