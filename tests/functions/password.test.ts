// POST /password (docs/api.md): a signed-in user changes their password, giving the current one.
// Done: the other sessions end, this one stays, only the new password signs in. Refused: a field
// error, and nothing changed.
import { expect } from 'vitest'
import { findUserByUsername } from '#lib/auth/users.ts'
import { defaultValue } from '#lib/platform/config.ts'
import { expectProblem } from '../helpers/expect.ts'
import { jwtParts, type Call } from '../helpers/http.ts'
import { ACCOUNT, runScenarios, type Scenario, type ScenarioContext } from '../helpers/scenarios.ts'
import { credentialsOf } from '../helpers/service.ts'

const COMMON = '1qaz2wsx3edc4rfv' // on the zxcvbn-ts list, 16 characters
const NEW = 'harbor lantern quartz renewed'
const MAX_FAILURES = defaultValue('LOGIN_MAX_FAILURES') as number

const changeJson = ({ token }: ScenarioContext, json: unknown): Call & { path: string } => ({
  path: '/password',
  method: 'POST',
  json,
  bearer: token,
})
const changeForm = ({ service }: ScenarioContext, form: Record<string, string>): Call & { path: string } => ({
  path: '/password',
  method: 'POST',
  form,
  headers: { origin: service.origin },
})
const hashOf = async ({ service, account }: ScenarioContext) =>
  (await findUserByUsername(service.runtime.db, account.username))!.passwordHash

/** Nothing changed: the same hash, the session still open, the old password still signs in. */
async function expectUnchanged(ctx: ScenarioContext, hashBefore: string) {
  expect(await hashOf(ctx)).toBe(hashBefore)
  expect((await ctx.service.dashboard(ctx.account.username, ctx.token)).status).toBe(200)
  await ctx.service.apiLogin(ctx.account)
}

type Refusal = [
  label: string,
  body: (ctx: ScenarioContext) => Record<string, unknown>,
  field: string,
  message?: RegExp,
  logged?: string,
]
const refusals: Refusal[] = [
  [
    'a wrong current password',
    ({ account }) => ({ current_password: `${account.password}x`, new_password: NEW }),
    'current_password',
    undefined,
    'password_change_failed',
  ],
  ['an empty current password', () => ({ current_password: '', new_password: NEW }), 'current_password'],
  ['a missing current password', () => ({ new_password: NEW }), 'current_password'],
  [
    'a current password over 72 bytes',
    () => ({ current_password: 'z'.repeat(73), new_password: NEW }),
    'current_password',
  ],
  ['a missing new password', ({ account }) => ({ current_password: account.password }), 'new_password'],
  [
    'a new password of 14 characters',
    ({ account }) => ({ current_password: account.password, new_password: 'zyxwvutsrqpon' }),
    'new_password',
    /at least 15/,
  ],
  [
    'a new password over 72 bytes',
    ({ account }) => ({ current_password: account.password, new_password: '🔑'.repeat(19) }),
    'new_password',
    /72/,
  ],
  [
    'a common new password',
    ({ account }) => ({ current_password: account.password, new_password: COMMON }),
    'new_password',
    /commonly used/,
  ],
  [
    'a common new password in another case',
    ({ account }) => ({ current_password: account.password, new_password: 'PasswordPassword' }),
    'new_password',
    /commonly used/,
  ],
  [
    'a new password containing the username, any case',
    ({ account }) => ({
      current_password: account.password,
      new_password: `lantern ${account.username.toUpperCase()} quartz`,
    }),
    'new_password',
    /^New password must not contain the username\.$/,
  ],
  [
    'a new password naming the service',
    ({ account }) => ({ current_password: account.password, new_password: 'gateway_auth lantern quartz 9' }),
    'new_password',
    /name of this service or device/,
  ],
  [
    'the current password again',
    ({ account }) => ({ current_password: account.password, new_password: account.password }),
    'new_password',
    /^The new password must differ from the current one\.$/,
  ],
  [
    'a number as new password',
    ({ account }) => ({ current_password: account.password, new_password: 1234567890123456 }),
    'new_password',
  ],
]

runScenarios('POST /password', [
  {
    name: 'JSON: 204; the other sessions end, this one stays, other users keep theirs; only the new password signs in',
    as: 'api',
    given: async (ctx) => {
      ctx.kept.other = await ctx.service.apiLogin(ctx.account)
      const bystander = await ctx.service.register('bystander')
      ctx.kept.bystander = await ctx.service.apiLogin(bystander)
      ctx.kept.bystanderName = bystander.username
    },
    request: (ctx) => ({
      ...changeJson(ctx, { current_password: ctx.account.password, new_password: NEW }),
      jar: undefined,
    }),
    expect: {
      status: 204,
      text: /^$/,
      absent: [NEW],
      logs: [{ event: 'password_changed', level: 30, userId: ACCOUNT.id, path: '/password' }],
    },
    async after({ service, account, token, kept }) {
      expect((await service.dashboard(account.username, token)).status).toBe(200)
      expectProblem(await service.dashboard(account.username, kept.other!), 401, 'unauthorized')
      expect((await service.dashboard(kept.bystanderName!, kept.bystander!)).status).toBe(200)
      expectProblem(await service.http.postJson('/login', credentialsOf(account)), 401, 'invalid_credentials')
      await service.apiLogin({ username: account.username, password: NEW })
    },
  },
  ...refusals.map(
    ([label, body, field, message, logged]): Scenario => ({
      name: `JSON: refuses ${label} with 400 validation_failed on ${field}, changing nothing`,
      as: 'api',
      given: async (ctx) => {
        ctx.kept.hash = await hashOf(ctx)
      },
      request: (ctx) => ({ ...changeJson(ctx, body(ctx)) }),
      expect: {
        status: 400,
        code: 'validation_failed',
        absent: [NEW],
        logs: logged ? [{ event: logged, level: 40, userId: ACCOUNT.id }] : undefined,
      },
      async after(ctx, reply) {
        expect(reply.json.errors.map((e: { field: string }) => e.field)).toEqual([field])
        if (message) expect(reply.json.errors[0].message).toMatch(message)
        const sent = ctx.sent.json as Record<string, unknown>
        for (const value of Object.values(sent))
          if (typeof value === 'string' && value) expect(reply.text).not.toContain(value)
        await expectUnchanged(ctx, ctx.kept.hash!)
      },
    }),
  ),
  {
    name: 'JSON: more than SESSION_TTL_SECONDS since the login is 401 session_expired, though the token exp is ahead',
    as: 'api',
    given: async (ctx) => {
      ctx.kept.hash = await hashOf(ctx)
      await ctx.service.runtime.db.none(
        "UPDATE sessions SET created_at = created_at - interval '3601 seconds' WHERE id = $1",
        [jwtParts(ctx.token).payload.jti],
      )
    },
    request: (ctx) => changeJson(ctx, { current_password: ctx.account.password, new_password: NEW }),
    expect: { status: 401, code: 'session_expired' },
    after: async (ctx) => expect(await hashOf(ctx)).toBe(ctx.kept.hash),
  },
  {
    name: 'JSON: wrong current passwords count as failed sign-ins: locked out of both, 429 with Retry-After',
    as: 'api',
    given: async (ctx) => {
      ctx.kept.hash = await hashOf(ctx)
      const wrong = (i: number) => ({ current_password: `wrong ${i}`, new_password: NEW })
      for (let i = 0; i < MAX_FAILURES; i++)
        expect((await ctx.service.http.call('/password', changeJson(ctx, wrong(i)))).status).toBe(400)
    },
    request: (ctx) => changeJson(ctx, { current_password: ctx.account.password, new_password: NEW }),
    expect: { status: 429, code: 'rate_limited', headers: { 'retry-after': /^[1-9]\d*$/ } },
    async after(ctx) {
      expect(await hashOf(ctx)).toBe(ctx.kept.hash)
      expectProblem(await ctx.service.http.postJson('/login', credentialsOf(ctx.account)), 429, 'rate_limited')
    },
  },
  {
    name: 'JSON: no session or a garbage token: 401 unauthorized',
    request: (ctx) => changeJson({ ...ctx, token: 'garbage' }, { current_password: 'x'.repeat(20), new_password: NEW }),
    expect: { status: 401, code: 'unauthorized' },
    async after({ service }) {
      const body = { current_password: 'x'.repeat(20), new_password: NEW }
      expectProblem(await service.http.postJson('/password', body), 401, 'unauthorized')
    },
  },
  {
    name: 'form: 303 to the dashboard, which then says the password was changed, once',
    as: 'browser',
    request: (ctx) => changeForm(ctx, { current_password: ctx.account.password, new_password: NEW }),
    expect: { status: 303 },
    async after({ service, account, jar }, reply) {
      expect(reply.location).toBe(`/dashboard/${account.username}`)
      expect(reply.setCookies.some((line) => /notice=/.test(line))).toBe(true)
      const page = await service.http.getHtml(reply.location!, { jar })
      expect(page.status).toBe(200)
      expect(page.text).toContain('Your password was changed')
      expect(page.text).not.toContain(NEW)
      expect((await service.http.getHtml(reply.location!, { jar })).text).not.toContain('Your password was changed')
      await service.apiLogin({ username: account.username, password: NEW })
    },
  },
  {
    name: 'form: a wrong current password re-renders the dashboard with 400, never echoing either password',
    as: 'browser',
    request: (ctx) => changeForm(ctx, { current_password: 'not my password at all', new_password: NEW }),
    expect: { status: 400, headers: { 'content-type': /^text\/html/ }, absent: ['not my password at all', NEW] },
    async after(ctx, reply) {
      expect(reply.text).toContain(`<span class="username">${ctx.account.username}</span>`)
      expect(reply.text).toContain('The current password is wrong')
      expect(reply.text).toMatch(/<details class="change-password" open>/)
      expect(reply.text).not.toContain(ctx.token)
      await ctx.service.apiLogin(ctx.account)
    },
  },
  {
    name: 'form: a browser without a session is sent to / with 303',
    request: (ctx) => changeForm(ctx, { current_password: 'whatever', new_password: NEW }),
    expect: { status: 303, location: '/' },
  },
])
