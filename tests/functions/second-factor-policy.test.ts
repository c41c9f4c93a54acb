// REQUIRE_SECOND_FACTOR (docs/decisions/019-second-factor.md): an account the policy covers that
// has no second factor is sent to set one up right after its password, and reaches nothing else
// (pages, the JSON API, the apps behind forward-auth) until it has. `admins` covers that group only.
import { expect } from 'vitest'
import type { Call } from '../helpers/http.ts'
import { runScenarios, type Scenario, type ScenarioContext } from '../helpers/scenarios.ts'
import { enrolTotp, movableClock } from '../helpers/second-factor.ts'

const clock = movableClock()
const APP = 'gateway.local'
const caddy = (uri: string): Record<string, string> => ({
  'x-forwarded-proto': 'https',
  'x-forwarded-host': APP,
  'x-forwarded-uri': uri,
  accept: 'text/html',
})
const loginJson = (ctx: ScenarioContext): Call & { path: string } => ({
  path: '/login',
  method: 'POST',
  json: { username: ctx.account.username, password: ctx.account.password },
})

const everyone: Scenario[] = [
  {
    name: 'JSON sign-in: a token that says where to enrol',
    as: 'account',
    request: loginJson,
    expect: { status: 200, json: { enrol_second_factor: '/security' } },
  },
  {
    name: 'form sign-in: to /security instead of the dashboard or return_to',
    as: 'account',
    request: (ctx) => ({
      path: '/login',
      method: 'POST',
      form: { username: ctx.account.username, password: ctx.account.password, return_to: '/account' },
      headers: { origin: ctx.service.origin },
    }),
    expect: { status: 303, location: '/security', cookies: { session: /./ } },
  },
  {
    name: 'before enrolling, the JSON API refuses the session: 403 second_factor_enrolment_required',
    as: 'api',
    request: (ctx) => ({ path: '/account', bearer: ctx.token, headers: { accept: 'application/json' } }),
    expect: { status: 403, code: 'second_factor_enrolment_required' },
  },
  {
    name: 'before enrolling, the dashboard sends a browser to /security',
    as: 'browser',
    request: (ctx) => ({ path: `/dashboard/${ctx.account.username}`, headers: { accept: 'text/html' } }),
    expect: { status: 303, location: '/security' },
  },
  {
    name: 'before enrolling, forward-auth sends the browser to /security, not into the app',
    as: 'browser',
    request: () => ({ path: '/auth/verify', headers: caddy('/nodered/') }),
    expect: { status: 302, location: 'https://gateway.local/security' },
    only: 'http',
  },
  {
    name: 'before enrolling, nginx sends the browser to /security (a 401 with the Location its error_page follows)',
    as: 'browser',
    request: () => ({
      path: '/auth/nginx',
      headers: { 'x-original-url': `https://${APP}/nodered/`, accept: 'text/html' },
    }),
    expect: { status: 401, code: 'unauthorized', location: 'https://gateway.local/security' },
    only: 'http',
  },
  {
    name: 'before enrolling, nginx gets 403 second_factor_enrolment_required for a program',
    as: 'browser',
    request: () => ({
      path: '/auth/nginx',
      headers: { 'x-original-url': `https://${APP}/nodered/`, accept: 'application/json' },
    }),
    expect: { status: 403, code: 'second_factor_enrolment_required' },
    only: 'http',
  },
  {
    name: 'the security page is served, and says the policy requires a factor',
    as: 'api',
    request: (ctx) => ({ path: '/security', bearer: ctx.token, headers: { accept: 'application/json' } }),
    expect: { status: 200, json: { totp: 'off', second_factor_required: true } },
  },
  {
    name: 'once enrolled, the same session reaches the API and the apps',
    as: 'api',
    async given(ctx) {
      await enrolTotp(ctx.service, ctx.account, ctx.token, clock)
    },
    request: (ctx) => ({ path: '/account', bearer: ctx.token, headers: { accept: 'application/json' } }),
    expect: { status: 200 },
    async after(ctx) {
      const security = await ctx.service.http.getJson('/security', { bearer: ctx.token })
      expect(security.json).toMatchObject({ totp: 'on', second_factor_required: false, recovery_codes_left: 10 })
    },
  },
]

runScenarios('REQUIRE_SECOND_FACTOR=everyone', everyone, {
  clock: clock.now,
  env: {
    REQUIRE_SECOND_FACTOR: 'everyone',
    TRUST_PROXY: 'loopback',
    ACCESS_RULES: JSON.stringify({ rules: [{ host: APP, path: '/nodered/', allow: 'signed_in' }] }),
  },
})

// the first account of a fresh database is in admins (one service per transport: the row's account is first)
runScenarios(
  'REQUIRE_SECOND_FACTOR=admins',
  [
    {
      name: 'the admin (the first account) must enrol; an account outside admins signs in with its password alone',
      as: 'api',
      request: (ctx) => ({ path: '/account', bearer: ctx.token, headers: { accept: 'application/json' } }),
      expect: { status: 403, code: 'second_factor_enrolment_required' },
      async after(ctx) {
        const member = await ctx.service.register('member')
        const token = await ctx.service.apiLogin(member)
        const account = await ctx.service.http.getJson('/account', { bearer: token })
        expect(account.status).toBe(200)
      },
    },
  ],
  { clock: clock.now, env: { REQUIRE_SECOND_FACTOR: 'admins' } },
)
