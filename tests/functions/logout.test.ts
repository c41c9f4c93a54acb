// POST /logout (docs/api.md): ends the session it was sent with on the server, idempotently.
import { expect } from 'vitest'
import { CookieJar, jwtParts } from '../helpers/http.ts'
import { expectProblem } from '../helpers/expect.ts'
import { strongPassword } from '../helpers/factories.ts'
import { ACCOUNT, runScenarios, type ScenarioContext } from '../helpers/scenarios.ts'

const revokedAt = async ({ service }: ScenarioContext, token: string) =>
  (
    await service.runtime.db.one('SELECT revoked_at AS "revokedAt" FROM sessions WHERE id = $1', [
      jwtParts(token).payload.jti,
    ])
  ).revokedAt as Date | null

/** The token no longer opens the dashboard nor changes the password. */
async function expectRefused({ service, account }: ScenarioContext, token: string) {
  expect(await revokedAt({ service } as ScenarioContext, token)).toBeInstanceOf(Date)
  expectProblem(await service.dashboard(account.username, token), 401, 'unauthorized')
  const change = { current_password: account.password, new_password: strongPassword() }
  expectProblem(await service.http.postJson('/password', change, { bearer: token }), 401, 'unauthorized')
}

const logoutJson = (token?: string) => ({ path: '/logout', method: 'POST', json: {}, bearer: token })

runScenarios('POST /logout', [
  {
    name: 'JSON: 204, and the same token is refused afterwards although its exp has not passed',
    as: 'api',
    request: ({ token }) => logoutJson(token),
    expect: { status: 204, text: /^$/, logs: [{ event: 'logout', level: 30, userId: ACCOUNT.id }] },
    async after(ctx) {
      expect(jwtParts(ctx.token).payload.exp * 1000).toBeGreaterThan(Date.now())
      await expectRefused(ctx, ctx.token)
    },
  },
  {
    name: 'JSON: ends only the session it was sent with',
    as: 'api',
    request: ({ token }) => logoutJson(token),
    expect: { status: 204 },
    async after(ctx) {
      // a second sign-in of the same account, made before: still live
      const other = await ctx.service.apiLogin(ctx.account)
      await ctx.service.http.postJson('/logout', {}, { bearer: ctx.token })
      expect((await ctx.service.dashboard(ctx.account.username, other)).status).toBe(200)
      expect(await revokedAt(ctx, other)).toBeNull()
    },
  },
  {
    name: 'JSON: 204 again for an already revoked token, keeping the first revocation time',
    as: 'api',
    request: ({ token }) => logoutJson(token),
    expect: { status: 204 },
    async after(ctx) {
      const first = await revokedAt(ctx, ctx.token)
      expect((await ctx.service.http.postJson('/logout', {}, { bearer: ctx.token })).status).toBe(204)
      expect(await revokedAt(ctx, ctx.token)).toEqual(first)
    },
  },
  { name: 'JSON: 204 without a session (idempotent)', request: () => logoutJson(), expect: { status: 204 } },
  { name: 'JSON: 204 with a garbage token', request: () => logoutJson('garbage'), expect: { status: 204 } },
  {
    name: 'JSON: 204 to a POST with no body at all, and the session ends',
    as: 'api',
    request: ({ token }) => ({
      path: '/logout',
      method: 'POST',
      bearer: token,
      headers: { accept: 'application/json' },
    }),
    expect: { status: 204 },
    after: (ctx) => expectRefused(ctx, ctx.token),
  },
  {
    name: 'form: 303 to /, the cookie cleared, the notice set, and the old cookie no longer opens the dashboard',
    as: 'browser',
    request: ({ service }) => ({ path: '/logout', method: 'POST', form: {}, headers: { origin: service.origin } }),
    expect: {
      status: 303,
      location: '/',
      cookies: { session: /^[_\w-]*session=;.*Max-Age=0.*Path=\/.*HttpOnly/i },
    },
    async after(ctx, reply) {
      const secure = ctx.service.transport === 'lambda'
      const cleared = reply.setCookies.filter((line) => /session=;/.test(line))
      // both names cleared over HTTPS (the Secure one and the plain-HTTP one); only `session` over HTTP
      expect(cleared.map((line) => line.split('=')[0]).sort()).toEqual(
        secure ? ['__Host-session', 'session'] : ['session'],
      )
      for (const line of cleared.filter((l) => l.startsWith('__Host-'))) expect(line).toMatch(/Secure/i)
      if (!secure) expect(cleared[0]).not.toMatch(/Secure/i)
      const notice = reply.setCookies.find((line) => /notice=signed_out;/.test(line))
      expect(notice).toMatch(secure ? /^__Host-notice=signed_out;.*Secure/i : /^notice=signed_out;/)
      const page = await ctx.service.http.getHtml('/', { jar: ctx.jar })
      expect(page.text).toContain('You are signed out')
      await expectRefused(ctx, ctx.token)
      const replayed = new CookieJar()
      replayed.cookies.set(ctx.service.sessionCookie, ctx.token)
      const dashboard = await ctx.service.http.getHtml(`/dashboard/${ctx.account.username}`, { jar: replayed })
      expect({ status: dashboard.status, location: dashboard.location }).toEqual({ status: 303, location: '/' })
      const asApi = await ctx.service.http.getJson(`/dashboard/${ctx.account.username}`, { jar: replayed })
      expectProblem(asApi, 401, 'unauthorized')
    },
  },
  {
    name: 'form: 303 to / and the cookie cleared without a session',
    request: ({ service }) => ({
      path: '/logout',
      method: 'POST',
      form: { x: '1' },
      headers: { origin: service.origin },
    }),
    expect: { status: 303, location: '/', cookies: { session: /Max-Age=0/i } },
  },
  {
    name: 'form: the same 303 to / with a garbage session cookie',
    request: ({ service }) => ({
      path: '/logout',
      method: 'POST',
      form: { x: '1' },
      headers: { origin: service.origin, cookie: `${service.sessionCookie}=garbage` },
    }),
    expect: { status: 303, location: '/' },
  },
])
