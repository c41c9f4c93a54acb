// GET /dashboard/{username} (docs/api.md): the signed-in user's own page (HTML) or data (JSON): the
// account, this session, the live sessions and the gateway card. Anyone else: 401 (JSON) or a 303
// to / (pages); another user's name: 403.
import { readFileSync } from 'node:fs'
import os from 'node:os'
import { describe, expect, it } from 'vitest'
import jwt from 'jsonwebtoken'
import { handler } from '#functions/dashboard.ts'
import { createSession } from '#lib/auth/sessions.ts'
import { findUserByUsername } from '#lib/auth/users.ts'
import { invoke, jsonBody } from '../helpers/events.ts'
import { expectProblem } from '../helpers/expect.ts'
import { uniqueUsername } from '../helpers/factories.ts'
import { jwtParts, parseSetCookie, type Call } from '../helpers/http.ts'
import { timeAfter } from '../helpers/pages.ts'
import { runScenarios, type Scenario, type ScenarioContext } from '../helpers/scenarios.ts'
import { userAfterFirstSignIn, useService } from '../helpers/service.ts'
import { resign } from '../helpers/tokens.ts'

const TTL = 3600
const HTML_ACCEPT = { accept: 'text/html' }
const own = ({ account }: ScenarioContext) => `/dashboard/${account.username}`
const asJson = (ctx: ScenarioContext, path = own(ctx), token = ctx.token): Call & { path: string } => ({
  path,
  method: 'GET',
  headers: { accept: 'application/json' },
  bearer: token,
  jar: undefined,
})
const asPage = (ctx: ScenarioContext, path = own(ctx)): Call & { path: string } => ({
  path,
  method: 'GET',
  headers: HTML_ACCEPT,
})
/** A session cookie holding `token` (or whatever value), as a browser would send it. */
const withCookie = (ctx: ScenarioContext, value: string, path = own(ctx)): Call & { path: string } => ({
  ...asPage(ctx, path),
  headers: { ...HTML_ACCEPT, cookie: `${ctx.service.sessionCookie}=${value}` },
  jar: undefined,
})
const age = ({ service }: ScenarioContext, token: string, sql: string) =>
  service.runtime.db.none(`UPDATE sessions SET ${sql} WHERE id = $1`, [jwtParts(token).payload.jti])
/** The gateway card is for admins (the first account is one): the scenario's account joins them. */
const inAdmins = ({ service, account }: Pick<ScenarioContext, 'service' | 'account'>) =>
  service.runtime.db.none("UPDATE users SET groups = '{admins}' WHERE id = $1", [account.id])
const display = (time: Date) =>
  time
    .toISOString()
    .replace('T', ' ')
    .replace(/\.\d+Z$/, ' UTC')

/** Tokens the service must refuse with 401 unauthorized (JSON). */
const refusedTokens: [label: string, token: (ctx: ScenarioContext) => string | undefined][] = [
  ['no token at all', () => undefined],
  ['a garbage Bearer token', () => 'garbage.token.value'],
  [
    'a token signed with another secret',
    (ctx) =>
      jwt.sign({ ...jwtParts(ctx.token).payload }, 'another secret that is long enough to sign', {
        algorithm: 'HS256',
      }),
  ],
  [
    'an unsigned token (alg none)',
    (ctx) =>
      `${ctx.token
        .split('.')
        .slice(0, 2)
        .join('.')
        .replace(/^[^.]+/, Buffer.from('{"alg":"none","typ":"JWT"}').toString('base64url'))}.`,
  ],
  // a static key in place of a token (ASVS 7.2.2)
  ['the signing secret as a token', (ctx) => ctx.service.runtime.jwtSecret],
  ['the account id as a token', (ctx) => ctx.account.id],
  [
    'a well-signed token whose session does not exist',
    (ctx) => resign(ctx.service, ctx.token, { jti: 'no-such-session-aaaaaaaaaaaa' }),
  ],
  [
    'a well-signed token naming another user for this session',
    (ctx) => resign(ctx.service, ctx.token, { sub: ctx.kept.otherId, preferred_username: ctx.kept.otherName }),
  ],
]

runScenarios('GET /dashboard/{username}', [
  {
    name: 'JSON: 200 with the user, this session, the live sessions, the apps and the gateway; no-store',
    as: 'api',
    request: (ctx) => asJson(ctx),
    expect: { status: 200, headers: { 'cache-control': 'no-store' } },
    async after({ account, token }, reply) {
      const { iat, exp } = jwtParts(token).payload
      expect(reply.json).toEqual({
        user: userAfterFirstSignIn(account),
        session: { signed_in_at: new Date(iat * 1000).toISOString(), expires_at: new Date(exp * 1000).toISOString() },
        sessions: [
          {
            id: expect.stringMatching(/^[\w-]{22}$/),
            created_at: expect.any(String),
            expires_at: new Date(exp * 1000).toISOString(),
            current: true,
            sign_in_method: 'password',
          },
        ],
        apps: [], // no ACCESS_RULES: no apps (tests/functions/verify.test.ts lists them)
        gateway: expect.objectContaining({
          hostname: expect.any(String),
          database: expect.objectContaining({ healthy: true }),
        }),
      })
      expect(reply.text).not.toContain(token)
    },
  },
  {
    name: 'JSON: the name matches in another letter case',
    as: 'api',
    request: (ctx) => asJson(ctx, own(ctx).toUpperCase().replace('/DASHBOARD/', '/dashboard/')),
    expect: { status: 200 },
    after: async ({ account }, reply) => expect(reply.json.user.username).toBe(account.username),
  },
  {
    name: 'JSON: the session cookie works too, and a Bearer token wins over a stale cookie',
    as: 'browser',
    request: (ctx) => ({ ...asJson(ctx, own(ctx), undefined), jar: ctx.jar }),
    expect: { status: 200 },
    async after(ctx) {
      const other = await ctx.service.register('bearerwins')
      const otherToken = await ctx.service.apiLogin(other)
      const both = await ctx.service.http.getJson(`/dashboard/${other.username}`, { jar: ctx.jar, bearer: otherToken })
      expect(both.json.user.username).toBe(other.username)
      const { path, ...call } = asJson(ctx, own(ctx), ctx.token)
      const cookie = `${ctx.service.sessionCookie}=not-a-token`
      const stale = await ctx.service.http.call(path, { ...call, headers: { ...call.headers, cookie } })
      expect(stale.status).toBe(200)
    },
  },
  ...refusedTokens.map(
    ([label, token]): Scenario => ({
      name: `JSON: refuses ${label} with 401 unauthorized`,
      as: 'api',
      async given(ctx) {
        const other = await ctx.service.register('other')
        ctx.kept.otherId = other.id
        ctx.kept.otherName = other.username
      },
      request: (ctx) => ({ ...asJson(ctx), bearer: token(ctx) }),
      expect: { status: 401, code: 'unauthorized' },
      async after(ctx, reply) {
        expect(reply.text).not.toContain(ctx.account.username)
        expect(reply.text).not.toContain(ctx.token)
      },
    }),
  ),
  {
    name: "JSON: another user's dashboard, or a name that does not exist, is 403 forbidden without their data",
    as: 'api',
    given: async (ctx) => {
      const other = await ctx.service.register('other')
      ctx.kept.otherName = other.username
      ctx.kept.otherCreated = other.created_at
      ctx.kept.otherId = other.id
    },
    request: (ctx) => asJson(ctx, `/dashboard/${ctx.kept.otherName}`),
    expect: { status: 403, code: 'forbidden' },
    async after(ctx, reply) {
      expect(reply.text).not.toContain(ctx.kept.otherCreated)
      expect(reply.text).not.toContain(ctx.kept.otherId)
      const { path, ...ghost } = asJson(ctx, `/dashboard/${uniqueUsername('ghost')}`)
      expectProblem(await ctx.service.http.call(path, ghost), 403, 'forbidden')
    },
  },
  {
    name: 'page: the username, creation, this sign-in and the session end, the forms; no-store',
    as: 'browser',
    request: (ctx) => asPage(ctx),
    expect: { status: 200, headers: { 'cache-control': 'no-store', 'content-type': /^text\/html/ } },
    async after(ctx, reply) {
      const user = (await findUserByUsername(ctx.service.runtime.db, ctx.account.username))!
      const exp = new Date(jwtParts(ctx.token).payload.exp * 1000)
      expect(reply.text).toContain(`<span class="username">${ctx.account.username}</span>`)
      for (const time of [user.createdAt, user.lastLoginTime!, exp]) {
        expect(reply.text).toContain(`datetime="${time.toISOString()}"`)
        expect(reply.text).toContain(display(time))
      }
      expect(timeAfter(reply.text, 'Account created')).toBe(ctx.account.created_at)
      // the session ends TTL after the (whole-second) login
      const span =
        Date.parse(timeAfter(reply.text, 'Session ends')!) - Date.parse(timeAfter(reply.text, 'This sign-in')!)
      expect(span).toBeGreaterThan((TTL - 1) * 1000)
      expect(span).toBeLessThanOrEqual(TTL * 1000)
      expect(reply.text).toMatch(/<form[^>]*action="\/logout"/)
      expect(reply.text).toMatch(/<form[^>]*action="\/password"/)
      expect(reply.text).not.toContain(ctx.token)
    },
  },
  {
    name: 'JSON: a name no account can have is 404, even one that lower-cases to the own name (Kelvin sign)',
    given: async (ctx) => {
      const kim = await ctx.service.register('kim.k')
      ctx.kept.name = kim.username
      ctx.kept.token = await ctx.service.apiLogin(kim)
    },
    // U+212A KELVIN SIGN: JavaScript lower-cases it to an ASCII k
    request: (ctx) =>
      asJson(ctx, `/dashboard/${encodeURIComponent(ctx.kept.name!.replace('k', '\u212a'))}`, ctx.kept.token),
    expect: { status: 404, code: 'not_found' },
    async after(ctx) {
      const { path, ...accent } = asJson(
        ctx,
        `/dashboard/${encodeURIComponent(`${ctx.kept.name}\u0301`)}`,
        ctx.kept.token,
      )
      expectProblem(await ctx.service.http.call(path, accent), 404, 'not_found')
    },
  },
  {
    name: 'page: no session sends the browser to / with 303, no notice, nothing of the account',
    as: 'account',
    request: (ctx) => asPage(ctx),
    expect: { status: 303, location: '/', cookies: { notice: null, '__Host-notice': null } },
    after: async (ctx, reply) => expect(reply.text).not.toContain(ctx.account.username),
  },
  {
    name: 'page: an unknown name while not signed in sends the browser to /',
    request: (ctx) => asPage(ctx, `/dashboard/${uniqueUsername('nobody')}`),
    expect: { status: 303, location: '/' },
  },
  {
    name: 'page: an invalid session cookie sends the browser to / and clears the cookie',
    as: 'account',
    request: (ctx) => withCookie(ctx, 'not.a.token'),
    expect: { status: 303, location: '/', cookies: { session: /^[_\w-]*session=;.*Max-Age=0/i } },
  },
  {
    name: "page: another user's dashboard is a 403 page without their data, pointing to your own",
    as: 'browser',
    given: async (ctx) => {
      const other = await ctx.service.register('other')
      ctx.kept.otherName = other.username
      ctx.kept.otherCreated = other.created_at
    },
    request: (ctx) => asPage(ctx, `/dashboard/${ctx.kept.otherName}`),
    expect: { status: 403, headers: { 'content-type': /^text\/html/ }, text: /Forbidden/ },
    async after(ctx, reply) {
      expect(reply.text).not.toContain(ctx.kept.otherName)
      expect(reply.text).not.toContain(ctx.kept.otherCreated)
      expect(reply.text).toContain(
        `<a class="button" href="/dashboard/${ctx.account.username}">Go to your dashboard</a>`,
      )
    },
  },
  {
    name: 'page: a requested name it does not recognise is escaped, never reflected as markup',
    as: 'browser',
    request: (ctx) => asPage(ctx, `/dashboard/${encodeURIComponent('<img src=x onerror=alert(1)>')}`),
    // no account can have that name: 404, the same as for any name outside the rules
    expect: { status: 404, absent: ['<img src=x'] },
  },
  {
    name: 'page: use does not extend a session: no new cookie, and it ends when its token does',
    as: 'browser',
    async given(ctx) {
      ctx.kept.end = (await ctx.service.dashboard(ctx.account.username, ctx.token)).json.session.expires_at
    },
    request: (ctx) => asPage(ctx),
    expect: { status: 200, cookies: { session: null } },
    async after(ctx) {
      const again = await ctx.service.dashboard(ctx.account.username, ctx.token)
      expect(again.json.session.expires_at).toBe(ctx.kept.end)
      expect(Date.parse(ctx.kept.end!) / 1000).toBe(jwtParts(ctx.token).payload.exp)
    },
  },
  {
    name: 'JSON: an account deleted in the database loses every session: 401 unauthorized',
    as: 'api',
    async given(ctx) {
      ctx.kept.second = await ctx.service.apiLogin(ctx.account)
      // there is no delete endpoint: an operator removes the row
      await ctx.service.runtime.db.none('DELETE FROM users WHERE id = $1', [ctx.account.id])
    },
    request: (ctx) => asJson(ctx),
    expect: { status: 401, code: 'unauthorized' },
    after: async (ctx) =>
      expectProblem(await ctx.service.dashboard(ctx.account.username, ctx.kept.second!), 401, 'unauthorized'),
  },
  {
    name: 'JSON: a session row past its expiry is 401 session_expired',
    as: 'api',
    given: (ctx) =>
      age(ctx, ctx.token, `created_at = created_at - interval '2 hours', expires_at = now() - interval '1 second'`),
    request: (ctx) => asJson(ctx),
    expect: { status: 401, code: 'session_expired' },
  },
  {
    name: 'JSON: more than the TTL since the login is 401 session_expired, though the token exp is ahead',
    as: 'api',
    async given(ctx) {
      expect((await ctx.service.dashboard(ctx.account.username, ctx.token)).status).toBe(200)
      await age(ctx, ctx.token, `created_at = created_at - interval '${TTL + 1} seconds'`)
    },
    request: (ctx) => asJson(ctx),
    expect: { status: 401, code: 'session_expired' },
  },
  {
    name: 'JSON: a token whose own exp has passed is 401 session_expired',
    as: 'account',
    async given(ctx) {
      const signedIn = new Date(Date.now() - 2 * TTL * 1000)
      ctx.token = (await createSession(ctx.service.runtime.db, ctx.account, signedIn, ctx.service.runtime)).token
    },
    request: (ctx) => asJson(ctx),
    expect: { status: 401, code: 'session_expired' },
  },
  {
    name: 'page: an expired session sends the browser to / with a notice, clears the cookie, and / says so',
    as: 'browser',
    given: (ctx) =>
      age(ctx, ctx.token, `created_at = created_at - interval '2 hours', expires_at = now() - interval '1 second'`),
    request: (ctx) => asPage(ctx),
    expect: { status: 303, location: '/' },
    async after(ctx, reply) {
      const cookies = reply.setCookies.map(parseSetCookie)
      const session = ctx.service.sessionCookie
      const notice = session === 'session' ? 'notice' : '__Host-notice'
      expect(cookies.find((c) => c.name === session)).toMatchObject({
        value: '',
        attributes: { 'max-age': '0', path: '/' },
      })
      expect(cookies.find((c) => c.name === notice)).toMatchObject({ value: 'expired', attributes: { path: '/' } })
      const page = await ctx.service.http.getHtml('/', { jar: ctx.jar })
      expect(page.status).toBe(200)
      expect(page.text).toContain('Your session expired')
      expect(ctx.jar.get(session)).toBeUndefined()
    },
  },
  {
    name: 'JSON: the gateway card: the machine, its storage, the database and the service, as this process sees them',
    given: inAdmins,
    as: 'api',
    request: (ctx) => asJson(ctx),
    expect: { status: 200 },
    async after({ service }, reply) {
      const { gateway } = reply.json
      expect(gateway.hostname).toBe(os.hostname())
      expect(gateway.cpu.count).toBe(os.cpus().length)
      expect(gateway.memory.total_bytes).toBe(os.totalmem())
      expect(gateway.memory.used_bytes).toBeGreaterThan(0)
      expect(gateway.memory.used_bytes).toBeLessThan(gateway.memory.total_bytes)
      expect(gateway.load_average).toHaveLength(3)
      expect(Math.abs(gateway.uptime_seconds - os.uptime())).toBeLessThan(30)
      expect(gateway.disk.free_bytes).toBeGreaterThan(0)
      expect(gateway.disk.free_bytes).toBeLessThanOrEqual(gateway.disk.total_bytes)
      expect(gateway.database).toEqual({
        kind: service.runtime.config.database.url ? 'server' : 'embedded',
        healthy: true,
        size_bytes: expect.any(Number),
      })
      // a fresh PostgreSQL database is several MB; the size is read from the server, not made up
      const { size } = await service.runtime.db.one('SELECT pg_database_size(current_database())::float8 AS size')
      expect(gateway.database.size_bytes).toBeGreaterThan(1e6)
      expect(Math.abs(gateway.database.size_bytes - size)).toBeLessThan(size / 2)
      const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'))
      expect(gateway.service).toMatchObject({ version: pkg.version, node_version: process.versions.node })
      expect(gateway.balena).toBeNull()
    },
  },
  {
    name: 'page: the gateway card: one verdict line, then hostname, memory, storage, database and versions',
    given: inAdmins,
    as: 'browser',
    request: (ctx) => asPage(ctx),
    expect: { status: 200 },
    async after(_, reply) {
      expect(reply.text).toMatch(
        /<p class="status (ok|warn|bad)">.*(Gateway and service are healthy\.|Needs attention: )/,
      )
      expect(reply.text).toContain(`<dd>${os.hostname()}`)
      expect(reply.text).toMatch(/<dt>Memory<\/dt>\s*<dd>[\d.]+ [kMG]?B of [\d.]+ [MGT]B/)
      expect(reply.text).toMatch(/<dt>Storage<\/dt>\s*<dd>[\d.]+ [kMGT]?B free of/)
      expect(reply.text).toMatch(/<dt>Database<\/dt>\s*<dd>(Embedded PostgreSQL|PostgreSQL server), healthy/)
      expect(reply.text).toContain(`Node.js ${process.versions.node}`)
      expect(reply.text).toContain('id="gateway-title"')
    },
  },
  {
    name: 'JSON and page: the gateway is for admins only: another account gets `gateway: null` and no card',
    as: 'api',
    given: ({ service, account }) =>
      service.runtime.db.none("UPDATE users SET groups = '{}' WHERE id = $1", [account.id]),
    request: (ctx) => asJson(ctx),
    expect: { status: 200, json: { gateway: null } },
    async after(ctx) {
      const page = await ctx.service.http.get(own(ctx), { bearer: ctx.token, headers: HTML_ACCEPT })
      expect([page.status, page.text.includes('id="gateway-title"')]).toEqual([200, false])
    },
  },
  {
    name: 'JSON: the machine is read once for a burst of requests: the second within 5 s gets the same reading',
    given: inAdmins,
    as: 'api',
    request: (ctx) => asJson(ctx),
    expect: { status: 200 },
    async after(ctx, first) {
      const second = (await ctx.service.dashboard(ctx.account.username, ctx.token)).json
      expect(Date.now() - Date.parse(second.gateway.read_at)).toBeLessThan(5_000)
      if (Date.now() - Date.parse(first.json.gateway.read_at) < 4_000)
        expect(second.gateway.read_at).toBe(first.json.gateway.read_at)
    },
  },
  {
    name: 'JSON and page: the sign-in before this one is shown; an older session says a newer sign-in happened',
    as: 'api',
    async given(ctx) {
      const first = (await findUserByUsername(ctx.service.runtime.db, ctx.account.username))!
      expect(first.previousLoginTime).toBeNull()
      ctx.kept.firstLogin = first.lastLoginTime!.toISOString()
      ctx.kept.older = ctx.token
      // whole seconds: the second sign-in must start in a later second than the first
      await new Promise((resolve) => setTimeout(resolve, 1_100))
      ctx.token = await ctx.service.apiLogin(ctx.account)
    },
    request: (ctx) => asJson(ctx),
    expect: { status: 200 },
    async after(ctx, reply) {
      const second = (await findUserByUsername(ctx.service.runtime.db, ctx.account.username))!
      expect(second.previousLoginTime?.toISOString()).toBe(ctx.kept.firstLogin)
      expect(second.lastLoginTime!.getTime()).toBeGreaterThanOrEqual(Date.parse(ctx.kept.firstLogin!))
      expect(reply.json.user.previous_login_time).toBe(ctx.kept.firstLogin)
      expect(reply.json.session.signed_in_at).toBe(new Date(jwtParts(ctx.token).payload.iat * 1000).toISOString())
      const page = (token: string) =>
        ctx.service.http.call(own(ctx), { ...withCookie(ctx, token), path: undefined } as never)
      expect((await page(ctx.token)).text).toMatch(
        new RegExp(`<dt>Sign-in before</dt><dd><time datetime="${ctx.kept.firstLogin}"`),
      )
      const older = (await page(ctx.kept.older!)).text
      expect(older).toContain('<dt>Newer sign-in</dt>')
      expect(older).not.toContain('<dt>Sign-in before</dt>')
    },
  },
])

describe('GET /dashboard/{username}: where the Lambda event carries the session', () => {
  const service = useService({ transport: 'lambda' })
  const dashboardOf = async (given: { cookies?: string[]; headers?: Record<string, string> }) => {
    const account = await service.register('cookie')
    const token = await service.apiLogin(account)
    const input = JSON.parse(JSON.stringify(given).replaceAll('TOKEN', token))
    const { username } = account
    const result = await invoke(handler, {
      path: `/dashboard/${username}`,
      pathParameters: { username },
      ...input,
      headers: { accept: 'application/json', ...input.headers },
    })
    return { result, account }
  }
  it.each([
    ['API Gateway cookies, __Host-session', { cookies: ['__Host-session=TOKEN'] }],
    ['API Gateway cookies, session', { cookies: ['theme=dark', 'session=TOKEN'] }],
    ['a Cookie header, __Host-session', { headers: { cookie: '__Host-session=TOKEN' } }],
    ['a Cookie header, session', { headers: { cookie: 'theme=dark; session=TOKEN' } }],
  ])('accepts the session from %s', async (_, given) => {
    const { result, account } = await dashboardOf(given)
    expect(result.statusCode).toBe(200)
    expect(jsonBody(result).user.id).toBe(account.id)
  })
})
