// POST /register (docs/api.md): creates an account (JSON 201, or a form's 303 to /login with a
// notice) or refuses it with a field error, storing nothing. GET /register is the form.
import { expect, it } from 'vitest'
import { findUserByUsername } from '#lib/auth/users.ts'
import { isCommonPassword, loadCommonPasswords } from '#lib/auth/common-passwords.ts'
import { strongPassword } from '../helpers/factories.ts'
import { expectHtmlSafety, type Call } from '../helpers/http.ts'
import { inputValue } from '../helpers/pages.ts'
import { lookalikes, runScenarios, type Scenario, type ScenarioContext } from '../helpers/scenarios.ts'

const COMMON = '1qaz2wsx3edc4rfv' // on the zxcvbn-ts list, 16 characters
const EMOJI_15 = '🔑'.repeat(15) // 15 code points, 30 UTF-16 units, 60 bytes
const EMOJI_19 = '🔑'.repeat(19) // 76 bytes: over bcrypt's 72

it('uses a common password of at least 15 characters in its refusal table', async () => {
  // guards the table below: the password must fail only for being common
  await loadCommonPasswords()
  expect(isCommonPassword(COMMON)).toBe(true)
  expect([...COMMON].length).toBeGreaterThanOrEqual(15)
})

const stored = ({ service }: ScenarioContext, username: string) => findUserByUsername(service.runtime.db, username)
const registerJson = (json: unknown): Call & { path: string } => ({ path: '/register', method: 'POST', json })
const registerForm = (ctx: ScenarioContext, form: Record<string, string>): Call & { path: string } => ({
  path: '/register',
  method: 'POST',
  form,
  headers: { origin: ctx.service.origin },
})

type Invalid = [label: string, body: (name: string) => Record<string, unknown>, fields: string[], message?: RegExp]
const invalid: Invalid[] = [
  ['nothing at all', () => ({}), ['username', 'password']],
  ['a 2-character username', () => ({ username: 'zz', password: strongPassword() }), ['username']],
  ['a 33-character username', () => ({ username: 'a'.repeat(33), password: strongPassword() }), ['username']],
  ['a space in the username', (n) => ({ username: `${n} x`, password: strongPassword() }), ['username']],
  ['a non-ASCII username', () => ({ username: 'josé-x', password: strongPassword() }), ['username']],
  ['a number as username', () => ({ username: 12345, password: strongPassword() }), ['username']],
  ['an array as username', (n) => ({ username: [n], password: strongPassword() }), ['username']],
  ['a missing username', () => ({ password: strongPassword() }), ['username'], /required/i],
  ['a password of 14 characters', (n) => ({ username: n, password: 'harbor lantern' }), ['password'], /15/],
  ['a password of 14 emoji', (n) => ({ username: n, password: '🔑'.repeat(14) }), ['password'], /15/],
  ['a password over 72 bytes in UTF-8', (n) => ({ username: n, password: EMOJI_19 }), ['password'], /72 bytes/],
  ['a 73-byte ASCII password', (n) => ({ username: n, password: 'x'.repeat(73) }), ['password'], /72/],
  ['a common password', (n) => ({ username: n, password: COMMON }), ['password'], /common/i],
  ['a common password in capitals', (n) => ({ username: n, password: COMMON.toUpperCase() }), ['password'], /common/i],
  [
    'a password containing the username',
    (n) => ({ username: n, password: `harbor ${n} quartz` }),
    ['password'],
    /username/i,
  ],
  [
    'a password containing the username in capitals',
    (n) => ({ username: n, password: `my ${n.toUpperCase()} is great` }),
    ['password'],
    /username/i,
  ],
  ['an object as password', (n) => ({ username: n, password: { value: strongPassword() } }), ['password']],
  ['an array as password', (n) => ({ username: n, password: ['x'.repeat(20)] }), ['password']],
  ['null as password', (n) => ({ username: n, password: null }), ['password']],
  ['a number as password', (n) => ({ username: n, password: 123456789012345 }), ['password']],
  ['a missing password', (n) => ({ username: n }), ['password'], /required/i],
]

runScenarios('POST /register', [
  {
    name: 'JSON: 201 with id, the name as registered, created_at; extra fields ignored; the hash at the configured cost',
    request: (ctx) =>
      registerJson({ username: ctx.name('Mixed.Case'), password: strongPassword(), role: 'admin', is_admin: true }),
    expect: {
      status: 201,
      headers: { 'cache-control': 'no-store', 'content-type': /^application\/json/ },
      logs: [{ event: 'user_registered', level: 30 }],
    },
    async after(ctx, reply) {
      const username = ctx.name('Mixed.Case')
      expect(reply.json).toEqual({
        user: { id: expect.any(String), username, created_at: expect.any(String), last_login_time: null },
      })
      const created = Date.parse(reply.json.user.created_at)
      expect(created).toBeGreaterThanOrEqual(ctx.sentAt - 1000)
      expect(created).toBeLessThanOrEqual(Date.now() + 1000)
      expect(reply.text).not.toContain('admin')
      const row = await stored(ctx, username.toLowerCase())
      expect(row?.username).toBe(username)
      const cost = String(ctx.service.runtime.config.password.bcryptCost).padStart(2, '0')
      expect(row?.passwordHash).toMatch(new RegExp(`^\\$2[aby]\\$${cost}\\$`))
      expect(ctx.service.logs()).toContainEqual(
        expect.objectContaining({ event: 'user_registered', level: 30, userId: reply.json.user.id }),
      )
    },
  },
  {
    name: 'JSON: counts password length in code points, so 15 emoji are long enough',
    request: (ctx) => registerJson({ username: ctx.name('emoji'), password: EMOJI_15 }),
    expect: { status: 201 },
    async after(ctx) {
      expect(await stored(ctx, ctx.name('emoji'))).not.toBeNull()
    },
  },
  {
    name: 'JSON: a name taken in any letter case is refused with 409 username_taken and a username field error',
    as: 'account',
    request: (ctx) => registerJson({ username: ctx.account.username.toUpperCase(), password: strongPassword() }),
    expect: {
      status: 409,
      code: 'username_taken',
      json: {
        detail: 'That username is already taken.',
        errors: [{ field: 'username', message: 'That username is already taken; choose another.' }],
      },
    },
    async after(ctx) {
      for (const username of [ctx.account.username, ctx.account.username.toLowerCase()]) {
        const again = await ctx.service.http.postJson('/register', { username, password: strongPassword() })
        expect(again.status).toBe(409)
      }
      expect((await stored(ctx, ctx.account.username.toLowerCase()))?.username).toBe(ctx.account.username)
    },
  },
  {
    name: 'JSON and form: every Unicode lookalike of a taken name is refused with 400 on username, creating nothing',
    given: async (ctx) => {
      ctx.account = await ctx.service.register('alice.ks')
    },
    request: (ctx) => registerJson({ username: lookalikes(ctx.account.username)[0]![1], password: strongPassword() }),
    expect: { status: 400, code: 'validation_failed', json: { errors: [{ field: 'username' }] } },
    async after(ctx) {
      for (const [label, username] of lookalikes(ctx.account.username)) {
        const json = await ctx.service.http.call('/register', registerJson({ username, password: strongPassword() }))
        expect([json.status, json.json.errors.map((e: { field: string }) => e.field)], label).toEqual([
          400,
          ['username'],
        ])
        const form = await ctx.service.http.call(
          '/register',
          registerForm(ctx, { username, password: strongPassword() }),
        )
        expect([form.status, form.contentType.split(';')[0]], label).toEqual([400, 'text/html'])
      }
      const like = await ctx.service.runtime.db.one('SELECT count(*)::int AS n FROM users WHERE username ILIKE $1', [
        `%${ctx.account.username.split('-')[1]}%`,
      ])
      expect(like.n).toBe(1)
    },
  },
  ...invalid.map(
    ([label, body, fields, message]): Scenario => ({
      name: `JSON: refuses ${label} with 400 validation_failed naming the field, storing nothing`,
      request: (ctx) => registerJson(body(ctx.name('invalid'))),
      expect: { status: 400, code: 'validation_failed' },
      async after(ctx, reply) {
        const sent = ctx.sent.json as Record<string, unknown>
        expect(reply.json.errors.map((e: { field: string }) => e.field).sort()).toEqual([...fields].sort())
        for (const error of reply.json.errors) expect(error.message).toEqual(expect.any(String))
        if (message) expect(reply.json.errors[0].message).toMatch(message)
        if (typeof sent.password === 'string') expect(reply.text).not.toContain(sent.password)
        expect(await stored(ctx, ctx.name('invalid'))).toBeNull()
        if (typeof sent.username === 'string') expect(await stored(ctx, sent.username)).toBeNull()
      },
    }),
  ),
  {
    name: 'form: 303 to /login with a notice cookie; the login page then says the account was created, once',
    request: (ctx) => registerForm(ctx, { username: ctx.name('form'), password: 'harbor lantern quartz form' }),
    expect: { status: 303, location: '/login', text: /^$/, cookies: { session: null } },
    async after(ctx, reply) {
      const secure = ctx.service.transport === 'lambda'
      const notice = reply.setCookies.find((line) => /notice=/.test(line))
      // over HTTPS the notice is a __Host- cookie with Secure, like the session
      expect(notice).toMatch(secure ? /^__Host-notice=.*; Path=\/.*; Secure/i : /^notice=.*; Path=\//i)
      for (const path of ['/login', '/']) {
        const page = await ctx.service.http.getHtml(path, { headers: { cookie: notice!.split(';')[0]! } })
        expect(page.status).toBe(200)
        expect(page.text).toContain('Your account was created')
        // the notice is shown once: the page consumes the cookie
        expect(page.setCookies.find((line) => /notice=/.test(line))).toMatch(/Max-Age=0/i)
      }
      const plain = await ctx.service.http.getHtml('/login')
      expect(plain.text).toContain('action="/login"')
      expect(plain.text).not.toContain('Your account was created')
      // the account exists: it can sign in
      await ctx.service.apiLogin({ username: ctx.name('form'), password: 'harbor lantern quartz form' })
    },
  },
  {
    name: 'form: with an accepted return_to, 303 to the sign-in page that carries it on',
    request: (ctx) =>
      registerForm(ctx, { username: ctx.name('back'), password: 'harbor lantern quartz back', return_to: '/account' }),
    expect: { status: 303, location: '/login?return_to=%2Faccount' },
  },
  {
    name: 'form: a repeated field is refused with 400 and nothing stored',
    request: (ctx) => ({
      ...registerForm(ctx, {}),
      form: undefined,
      headers: { origin: ctx.service.origin, 'content-type': 'application/x-www-form-urlencoded' },
      body: `username=${ctx.name('twice')}&username=${ctx.name('other')}&password=harbor+lantern+quartz+x`,
    }),
    expect: { status: 400, headers: { 'content-type': /^text\/html/ }, text: /sent more than once/ },
    async after(ctx) {
      expect(await stored(ctx, ctx.name('twice'))).toBeNull()
    },
  },
  {
    name: 'form: invalid fields re-render the page with 400, the messages, the typed name escaped, no password',
    request: (ctx) => registerForm(ctx, { username: '<script>alert(1)</script>', password: 'short secret 1' }),
    expect: { status: 400, headers: { 'content-type': /^text\/html/ }, absent: ['short secret 1', '<script>'] },
    async after(_, reply) {
      expect(reply.text).toContain('action="/register"')
      expect(reply.text).toContain('Username may only contain')
      expect(reply.text).toContain('at least 15 characters')
      expect(reply.text).toContain('&lt;script&gt;alert(1)&lt;/script&gt;')
      expect(reply.text).toMatch(/aria-invalid="true"/)
      expect(inputValue(reply.text, 'password')).toBeUndefined()
    },
  },
  {
    name: 'form: a too-short password keeps the typed name, drops the password, stores nothing',
    request: (ctx) => registerForm(ctx, { username: ctx.name('short'), password: 'harbor lantern' }),
    expect: { status: 400, text: /at least 15 characters/, absent: ['harbor lantern'] },
    async after(ctx, reply) {
      expect(inputValue(reply.text, 'username')).toBe(ctx.name('short'))
      expect(await stored(ctx, ctx.name('short'))).toBeNull()
    },
  },
  {
    name: 'form: a taken name re-renders the page with 409, keeping the username, never the password',
    as: 'account',
    request: (ctx) =>
      registerForm(ctx, { username: ctx.account.username.toUpperCase(), password: 'harbor lantern 409 x' }),
    expect: { status: 409, text: /already taken/, absent: ['harbor lantern 409 x'] },
    async after(ctx, reply) {
      expect(reply.text).toContain('action="/register"')
      expect(inputValue(reply.text, 'username')).toBe(ctx.account.username.toUpperCase())
      expect(inputValue(reply.text, 'password')).toBeUndefined()
    },
  },
  {
    name: 'GET /register shows the form with the minimum password length',
    request: () => ({ path: '/register', method: 'GET', headers: { accept: 'text/html' } }),
    expect: { status: 200, headers: { 'content-type': /^text\/html/ }, text: /At least 15 characters/ },
    async after(_, reply) {
      expect(reply.text).toMatch(/<form[^>]*method="post"[^>]*action="\/register"/i)
      expect(reply.text).toMatch(/<input[^>]*name="password"[^>]*type="password"/)
      expectHtmlSafety(reply.headers)
    },
  },
])
