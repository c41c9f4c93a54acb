// The sign-in in two steps (docs/decisions/019-second-factor.md): POST /login with the right
// password for an account with TOTP answers a pending sign-in instead of a session, and
// POST /login/second-factor finishes it with a TOTP code or a recovery code. The service's clock is
// the test's (tests/helpers/second-factor.ts): codes at the step edges, skew, replay, expiry.
import { expect } from 'vitest'
import { PENDING_SIGN_IN_SECONDS } from '#lib/auth/pending-sign-ins.ts'
import { parseSetCookie, type Call } from '../helpers/http.ts'
import { ACCOUNT, runScenarios, type Scenario, type ScenarioContext } from '../helpers/scenarios.ts'
import { enrolTotp, movableClock, passwordStep, totpCode } from '../helpers/second-factor.ts'

const clock = movableClock()
const STEP = 30_000

/** Enrols TOTP at the clock's start, then moves to the next step (the enrolment's code is used up). */
async function withTotp(ctx: ScenarioContext) {
  clock.set(clock.start)
  const { secret, recoveryCodes } = await enrolTotp(ctx.service, ctx.account, ctx.token, clock)
  clock.set(clock.start + STEP)
  ctx.kept.secret = secret
  ctx.kept.recovery = recoveryCodes[0]!
  ctx.kept.recovery2 = recoveryCodes[1]!
  ctx.kept.pending = await passwordStep(ctx.service, ctx.account)
}
const codeAt = (ctx: ScenarioContext, offset: number) => totpCode(ctx.kept.secret!, clock.now().getTime() + offset)
const secondStep = (json: Record<string, string>): Call & { path: string } => ({
  path: '/login/second-factor',
  method: 'POST',
  json,
})
const step = (ctx: ScenarioContext, code: string) => secondStep({ pending: ctx.kept.pending!, code })

/** The sessions the account now has, as its dashboard lists them (signed in with `token`). */
async function sessionsOf(ctx: ScenarioContext, token: string) {
  const reply = await ctx.service.dashboard(ctx.account.username, token)
  expect(reply.status, reply.text).toBe(200)
  return reply.json.sessions as { sign_in_method: string; current: boolean }[]
}

const scenarios: Scenario[] = [
  {
    name: 'password step: 401 second_factor_required with a pending handle, no session, no cookie',
    as: 'api',
    async given(ctx) {
      clock.set(clock.start)
      await enrolTotp(ctx.service, ctx.account, ctx.token, clock)
    },
    request: (ctx) => ({
      path: '/login',
      method: 'POST',
      json: { username: ctx.account.username, password: ctx.account.password },
    }),
    expect: {
      status: 401,
      code: 'second_factor_required',
      json: {
        detail: 'Send a code from your authenticator app, or a recovery code, to POST /login/second-factor.',
        second_factor: { methods: ['totp', 'recovery'], expires_in: PENDING_SIGN_IN_SECONDS },
      },
      cookies: { session: null },
      logs: [{ event: 'login_password_accepted', level: 30, userId: ACCOUNT.id, methods: ['totp'] }],
    },
    after: async (_ctx, reply) => expect(reply.json.second_factor.pending).toMatch(/^[A-Za-z0-9_-]{43}$/),
  },
  {
    name: 'the current code: 200 with a token; the session says it signed in with TOTP',
    as: 'api',
    given: withTotp,
    request: (ctx) => step(ctx, codeAt(ctx, 0)),
    expect: { status: 200, json: { token_type: 'Bearer' } },
    async after(ctx, reply) {
      const sessions = await sessionsOf(ctx, reply.json.access_token)
      expect(sessions.find((s) => s.current)?.sign_in_method).toBe('totp')
    },
  },
  {
    name: 'skew: the code of the step before is accepted (a phone 30 s slow)',
    as: 'api',
    async given(ctx) {
      await withTotp(ctx)
      clock.move(STEP) // the enrolment used step 0; step 1's code is now one behind
    },
    request: (ctx) => step(ctx, codeAt(ctx, -STEP)),
    expect: { status: 200 },
  },
  {
    name: 'skew: the code of the step after is accepted (a phone 30 s fast)',
    as: 'api',
    given: withTotp,
    request: (ctx) => step(ctx, codeAt(ctx, STEP)),
    expect: { status: 200 },
  },
  {
    name: 'step edge: at the last millisecond of a step its own code passes, the code two steps on fails',
    as: 'api',
    async given(ctx) {
      await withTotp(ctx)
      clock.move(STEP - 1)
      ctx.kept.twoAhead = codeAt(ctx, 2 * STEP)
    },
    request: (ctx) => step(ctx, ctx.kept.twoAhead!),
    expect: { status: 401, code: 'invalid_second_factor' },
    async after(ctx) {
      const reply = await ctx.service.http.call('/login/second-factor', step(ctx, codeAt(ctx, 0)))
      expect(reply.status, reply.text).toBe(200)
    },
  },
  {
    name: 'skew: a code two steps old is refused',
    as: 'api',
    async given(ctx) {
      await withTotp(ctx)
      clock.move(2 * STEP)
    },
    request: (ctx) => step(ctx, codeAt(ctx, -2 * STEP)),
    expect: { status: 401, code: 'invalid_second_factor' },
  },
  {
    name: 'replay: a code used once is refused the second time, and so is an older step',
    as: 'api',
    async given(ctx) {
      await withTotp(ctx)
      const used = codeAt(ctx, STEP)
      const first = await ctx.service.http.call('/login/second-factor', step(ctx, used))
      expect(first.status, first.text).toBe(200)
      ctx.kept.used = used
      ctx.kept.pending = await passwordStep(ctx.service, ctx.account)
    },
    request: (ctx) => step(ctx, ctx.kept.used!),
    expect: { status: 401, code: 'invalid_second_factor' },
    async after(ctx) {
      // the current step is before the one used: an earlier code cannot follow a later one
      const older = await ctx.service.http.call('/login/second-factor', step(ctx, codeAt(ctx, 0)))
      expect(older.json.code).toBe('invalid_second_factor')
    },
  },
  {
    name: 'expiry: the pending sign-in is refused once its five minutes have passed',
    as: 'api',
    async given(ctx) {
      await withTotp(ctx)
      clock.move(PENDING_SIGN_IN_SECONDS * 1000)
    },
    request: (ctx) => step(ctx, codeAt(ctx, 0)),
    expect: { status: 401, code: 'pending_sign_in_expired' },
  },
  {
    name: 'single use: a pending sign-in that finished cannot start a second session',
    as: 'api',
    async given(ctx) {
      await withTotp(ctx)
      const first = await ctx.service.http.call('/login/second-factor', step(ctx, codeAt(ctx, 0)))
      expect(first.status, first.text).toBe(200)
    },
    request: (ctx) => step(ctx, codeAt(ctx, STEP)),
    expect: { status: 401, code: 'pending_sign_in_expired' },
  },
  {
    name: 'skipping the password: no pending sign-in, or a made-up one, gets nothing',
    as: 'api',
    given: withTotp,
    request: (ctx) => secondStep({ pending: 'A'.repeat(43), code: codeAt(ctx, 0) }),
    expect: { status: 401, code: 'pending_sign_in_expired' },
    async after(ctx) {
      const none = await ctx.service.http.call('/login/second-factor', secondStep({ code: codeAt(ctx, 0) }))
      expect(none.json.code).toBe('pending_sign_in_expired')
      // the code was not used up: the real pending sign-in still finishes with it
      const real = await ctx.service.http.call('/login/second-factor', step(ctx, codeAt(ctx, 0)))
      expect(real.status, real.text).toBe(200)
    },
  },
  {
    name: "swap: Bob's pending sign-in with Alice's code is refused (the handle names the account)",
    as: 'api',
    async given(ctx) {
      await withTotp(ctx) // Alice: ctx.account, ctx.kept.secret
      const bob = await ctx.service.register('bob')
      const bobToken = await ctx.service.apiLogin(bob)
      clock.set(clock.start)
      await enrolTotp(ctx.service, bob, bobToken, clock)
      clock.set(clock.start + STEP)
      ctx.kept.bobPending = await passwordStep(ctx.service, bob)
    },
    request: (ctx) => secondStep({ pending: ctx.kept.bobPending!, code: codeAt(ctx, 0) }),
    expect: { status: 401, code: 'invalid_second_factor' },
  },
  {
    name: 'recovery code: 200, says how many are left, ends the other sessions, works once',
    as: 'api',
    given: withTotp,
    request: (ctx) => step(ctx, ctx.kept.recovery!.toUpperCase()),
    expect: { status: 200, json: { recovery_codes_left: 9 } },
    async after(ctx, reply) {
      const sessions = await sessionsOf(ctx, reply.json.access_token)
      expect(sessions.map((s) => s.sign_in_method)).toEqual(['recovery'])
      expect((await ctx.service.dashboard(ctx.account.username, ctx.token)).json.code).toBe('unauthorized')
      const again = await ctx.service.http.call(
        '/login/second-factor',
        secondStep({ pending: await passwordStep(ctx.service, ctx.account), code: ctx.kept.recovery! }),
      )
      expect(again.json.code).toBe('invalid_second_factor')
    },
  },
  {
    name: 'lockout: after LOGIN_MAX_FAILURES wrong codes even the right one is refused (429), password or not',
    as: 'api',
    async given(ctx) {
      await withTotp(ctx)
      for (let i = 0; i < 5; i++) {
        const wrong = await ctx.service.http.call('/login/second-factor', step(ctx, '000000'))
        expect(wrong.json.code).toBe('invalid_second_factor')
      }
      // a correct password does not give new guesses: the codes' counters are their own
      ctx.kept.pending = await passwordStep(ctx.service, ctx.account)
    },
    request: (ctx) => step(ctx, codeAt(ctx, 0)),
    expect: { status: 429, code: 'rate_limited', headers: { 'retry-after': /^\d+$/ } },
  },
  {
    name: 'form: the password goes to the second page with a pending cookie, return_to survives to the end',
    as: 'account',
    async given(ctx) {
      const token = await ctx.service.apiLogin(ctx.account)
      clock.set(clock.start)
      const { secret } = await enrolTotp(ctx.service, ctx.account, token, clock)
      clock.set(clock.start + STEP)
      ctx.kept.secret = secret
      const password = await ctx.service.http.postForm(
        '/login',
        { username: ctx.account.username, password: ctx.account.password, return_to: '/security' },
        { jar: ctx.jar, headers: { origin: ctx.service.origin } },
      )
      expect(password.status).toBe(303)
      expect(password.location).toBe('/login/second-factor')
      const cookie = parseSetCookie(password.setCookies.find((c) => c.includes('pending_sign_in'))!)
      expect(cookie.attributes).toMatchObject({ httponly: '', samesite: 'Strict', 'max-age': '300' })
      const page = await ctx.service.http.getHtml('/login/second-factor', { jar: ctx.jar })
      expect(page.status).toBe(200)
      expect(page.text).toContain('name="code"')
    },
    request: (ctx) => ({
      path: '/login/second-factor',
      method: 'POST',
      form: { code: codeAt(ctx, 0) },
      headers: { origin: ctx.service.origin },
    }),
    expect: { status: 303, location: '/security', cookies: { session: /./ } },
    async after(ctx) {
      expect([...ctx.jar.cookies.keys()].some((name) => name.includes('pending_sign_in'))).toBe(false)
      const page = await ctx.service.http.getHtml('/login/second-factor', { jar: ctx.jar })
      expect(page.location).toBe('/login')
    },
  },
  {
    name: 'form: a wrong code shows the second page again with the error, and the pending sign-in lives on',
    as: 'account',
    async given(ctx) {
      const token = await ctx.service.apiLogin(ctx.account)
      clock.set(clock.start)
      await enrolTotp(ctx.service, ctx.account, token, clock)
      const password = await ctx.service.http.postForm(
        '/login',
        { username: ctx.account.username, password: ctx.account.password },
        { jar: ctx.jar, headers: { origin: ctx.service.origin } },
      )
      expect(password.location).toBe('/login/second-factor')
    },
    request: (ctx) => ({
      path: '/login/second-factor',
      method: 'POST',
      form: { code: '123 456' },
      headers: { origin: ctx.service.origin },
    }),
    expect: { status: 401, text: /That code is not right/ },
    async after(ctx) {
      const page = await ctx.service.http.getHtml('/login/second-factor', { jar: ctx.jar })
      expect(page.status).toBe(200)
    },
  },
]

runScenarios('POST /login/second-factor', scenarios, { clock: clock.now })
