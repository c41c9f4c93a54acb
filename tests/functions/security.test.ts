// GET /security and the forms that change the second factors (docs/decisions/019-second-factor.md):
// setting up the authenticator app (a key waiting for its first code, then on), the recovery codes
// (shown once, regenerated), removal; each change but the start takes the current password, and
// turning on, removing and using a recovery code end the account's other sessions and are logged.
import { expect } from 'vitest'
import { recoveryCodeHash } from '#lib/auth/recovery-codes.ts'
import type { Call } from '../helpers/http.ts'
import { runScenarios, type Scenario, type ScenarioContext } from '../helpers/scenarios.ts'
import { enrolTotp, movableClock, passwordStep, totpCode } from '../helpers/second-factor.ts'

const clock = movableClock()
const post = (path: string, json: unknown, ctx: ScenarioContext): Call & { path: string } => ({
  path,
  method: 'POST',
  json,
  bearer: ctx.token,
})

/** Starts the enrolment and keeps the key. */
async function started(ctx: ScenarioContext) {
  clock.set(clock.start)
  const reply = await ctx.service.http.postJson('/security/totp', {}, { bearer: ctx.token })
  expect(reply.status, reply.text).toBe(201)
  ctx.kept.secret = reply.json.totp_key
}
/** A second session of the account, to see which changes end it. */
async function withSecondSession(ctx: ScenarioContext) {
  ctx.kept.other = await ctx.service.apiLogin(ctx.account)
}
const otherSessionEnded = async (ctx: ScenarioContext) =>
  expect((await ctx.service.http.getJson('/account', { bearer: ctx.kept.other! })).json.code).toBe('unauthorized')

const scenarios: Scenario[] = [
  {
    name: 'GET /security (JSON): off, no codes, not required',
    as: 'api',
    request: (ctx) => ({ path: '/security', bearer: ctx.token, headers: { accept: 'application/json' } }),
    expect: { status: 200, json: { totp: 'off', recovery_codes_left: 0, second_factor_required: false } },
  },
  {
    name: 'POST /security/totp: a key waiting for its first code; it is no factor yet (the password alone signs in)',
    as: 'api',
    request: (ctx) => post('/security/totp', {}, ctx),
    expect: {
      status: 201,
      json: { totp: 'pending', totp_key: expect.stringMatching(/^[A-Z2-7]{32}$/) },
    },
    async after(ctx, reply) {
      expect(reply.json.totp_uri).toMatch(/^otpauth:\/\/totp\/gateway-auth:.*secret=[A-Z2-7]{32}.*period=30/)
      expect((await ctx.service.http.postJson('/login', ctx.account)).status).toBe(200)
    },
  },
  {
    name: 'the page while waiting: a QR code drawn as inline SVG (no script, no image from elsewhere) and the key',
    as: 'browser',
    async given(ctx) {
      ctx.token = await ctx.service.apiLogin(ctx.account)
      await started(ctx)
    },
    request: () => ({ path: '/security', headers: { accept: 'text/html' } }),
    expect: { status: 200, text: /<svg role="img" aria-label="QR code of the key below"/ },
    after: async (ctx, reply) => {
      expect(reply.text).not.toMatch(/<script(?! type="module" src="\/static\/app\.js)/)
      expect(reply.text).not.toMatch(/<img[^>]+src="(?!\/static\/)/)
      expect(reply.text.replace(/\s/g, '')).toContain(ctx.kept.secret)
    },
  },
  {
    name: 'confirm with a wrong code: 400 on code, still waiting',
    as: 'api',
    given: started,
    request: (ctx) => post('/security/totp/confirm', { code: '000000', current_password: ctx.account.password }, ctx),
    expect: { status: 400, code: 'validation_failed', json: { errors: [{ field: 'code' }] } },
  },
  {
    name: 'confirm with a wrong password: 400 on current_password (a failed sign-in), still waiting',
    as: 'api',
    given: started,
    request: (ctx) =>
      post('/security/totp/confirm', { code: totpCode(ctx.kept.secret!, clock.start), current_password: 'nope' }, ctx),
    expect: { status: 400, json: { errors: [{ field: 'current_password' }] } },
    async after(ctx) {
      const state = await ctx.service.http.getJson('/security', { bearer: ctx.token })
      expect(state.json.totp).toBe('pending')
    },
  },
  {
    name: 'confirm: on, ten recovery codes shown once (stored as SHA-256 only), other sessions ended, logged',
    as: 'api',
    async given(ctx) {
      await started(ctx)
      await withSecondSession(ctx)
    },
    request: (ctx) =>
      post(
        '/security/totp/confirm',
        { code: totpCode(ctx.kept.secret!, clock.start), current_password: ctx.account.password },
        ctx,
      ),
    expect: { status: 200 },
    async after(ctx, reply) {
      const codes = reply.json.recovery_codes as string[]
      expect(codes).toHaveLength(10)
      expect(new Set(codes).size).toBe(10)
      for (const code of codes) expect(code).toMatch(/^[0-9a-hjkmnp-tv-z]{4}(-[0-9a-hjkmnp-tv-z]{4}){5}$/)
      const stored = await ctx.service.runtime.db.any<{ code_hash: Buffer }>(
        'SELECT code_hash FROM recovery_codes WHERE user_id = $1',
        [ctx.account.id],
      )
      expect(stored.map((row) => row.code_hash.toString('hex')).sort()).toEqual(
        codes.map((code) => recoveryCodeHash(code).toString('hex')).sort(),
      )
      await otherSessionEnded(ctx)
      expect((await ctx.service.http.getJson('/account', { bearer: ctx.token })).status).toBe(200)
      const state = await ctx.service.http.getJson('/security', { bearer: ctx.token })
      expect(state.json).toEqual({
        totp: 'on',
        recovery_codes_left: 10,
        second_factor_required: false,
        passkeys: [],
        // the Lambda transport is HTTPS at a name; the HTTP one is reached at 127.0.0.1
        passkeys_here: ctx.service.transport === 'lambda' ? 'available' : 'address',
      })
      const logged = ctx.service.logs().find((line) => line.event === 'second_factor_enrolled')
      expect(logged).toMatchObject({ userId: ctx.account.id, factor: 'totp' })
      expect(ctx.service.rawLogs()).not.toContain(ctx.kept.secret)
      for (const code of codes) expect(ctx.service.rawLogs()).not.toContain(code)
    },
  },
  {
    name: 'starting again once on: 409 second_factor_exists, the key unchanged',
    as: 'api',
    async given(ctx) {
      ctx.kept.secret = (await enrolTotp(ctx.service, ctx.account, ctx.token, clock)).secret
    },
    request: (ctx) => post('/security/totp', {}, ctx),
    expect: { status: 409, code: 'second_factor_exists' },
  },
  {
    name: 'new recovery codes: the old ones stop working, the new ones work',
    as: 'api',
    async given(ctx) {
      clock.set(clock.start)
      ctx.kept.old = (await enrolTotp(ctx.service, ctx.account, ctx.token, clock)).recoveryCodes[0]!
    },
    request: (ctx) => post('/security/recovery-codes', { current_password: ctx.account.password }, ctx),
    expect: { status: 200 },
    async after(ctx, reply) {
      const step = async (code: string) =>
        ctx.service.http.postJson('/login/second-factor', {
          pending: await passwordStep(ctx.service, ctx.account),
          code,
        })
      expect((await step(ctx.kept.old!)).json.code).toBe('invalid_second_factor')
      const fresh = await step(reply.json.recovery_codes[0])
      expect(fresh.json.recovery_codes_left).toBe(9)
      expect(ctx.service.logs().some((line) => line.event === 'recovery_code_used')).toBe(true)
    },
  },
  {
    name: 'remove (with the password): off, codes gone, other sessions ended, logged, the password alone signs in',
    as: 'api',
    async given(ctx) {
      clock.set(clock.start)
      const { secret } = await enrolTotp(ctx.service, ctx.account, ctx.token, clock)
      clock.set(clock.start + 30_000)
      const pending = await passwordStep(ctx.service, ctx.account)
      const code = totpCode(secret, clock.now().getTime())
      const other = await ctx.service.http.postJson('/login/second-factor', { pending, code })
      ctx.kept.other = other.json.access_token
    },
    request: (ctx) => post('/security/totp/remove', { current_password: ctx.account.password }, ctx),
    expect: { status: 204 },
    async after(ctx) {
      await otherSessionEnded(ctx)
      const left = await ctx.service.runtime.db.one(
        'SELECT count(*)::int AS n FROM recovery_codes WHERE user_id = $1',
        [ctx.account.id],
      )
      expect(left.n).toBe(0)
      expect((await ctx.service.http.postJson('/login', ctx.account)).status).toBe(200)
      expect(ctx.service.logs().some((line) => line.event === 'second_factor_removed')).toBe(true)
    },
  },
  {
    name: 'remove with a wrong password: 400, still on',
    as: 'api',
    async given(ctx) {
      clock.set(clock.start)
      await enrolTotp(ctx.service, ctx.account, ctx.token, clock)
    },
    request: (ctx) => post('/security/totp/remove', { current_password: 'not it at all' }, ctx),
    expect: { status: 400, json: { errors: [{ field: 'current_password' }] } },
    async after(ctx) {
      expect((await ctx.service.http.getJson('/security', { bearer: ctx.token })).json.totp).toBe('on')
    },
  },
  {
    name: 'the dashboard links to the security page',
    as: 'browser',
    request: (ctx) => ({ path: `/dashboard/${ctx.account.username}`, headers: { accept: 'text/html' } }),
    expect: { status: 200, text: /<a href="\/security">/ },
  },
]

runScenarios('the security page', scenarios, { clock: clock.now, captureLogs: true })
