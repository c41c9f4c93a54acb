// POST /sessions/end (docs/api.md): a signed-in user ends one of their other sessions, named by
// the handle the dashboard lists, or all of them but this one ("others").
import { expect } from 'vitest'
import { sessionHandle } from '#lib/auth/session-list.ts'
import { jwtParts, type Call } from '../helpers/http.ts'
import { runScenarios, type Scenario, type ScenarioContext } from '../helpers/scenarios.ts'

const handleOf = (token: string) => sessionHandle(jwtParts(token).payload.jti)
const endJson = ({ token }: ScenarioContext, session: string): Call & { path: string } => ({
  path: '/sessions/end',
  method: 'POST',
  json: { session },
  bearer: token,
})
const revoked = async ({ service }: ScenarioContext, token: string) =>
  (await service.runtime.db.one('SELECT revoked_at FROM sessions WHERE id = $1', [jwtParts(token).payload.jti]))
    .revoked_at !== null
/** Two more sessions of the same account, kept as `second` and `third`. */
async function twoMoreSessions(ctx: ScenarioContext) {
  ctx.kept.second = await ctx.service.apiLogin(ctx.account)
  ctx.kept.third = await ctx.service.apiLogin(ctx.account)
}

const refusals: [label: string, session: (ctx: ScenarioContext) => string][] = [
  ['an unknown handle', () => 'not-a-handle'],
  ['an ended session', (ctx) => handleOf(ctx.kept.second!)],
  ['its own session', (ctx) => handleOf(ctx.token)],
  ['another account’s session', (ctx) => handleOf(ctx.kept.stranger!)],
  ['an empty handle', () => ''],
]

runScenarios('POST /sessions/end', [
  {
    name: 'JSON: ends the one session named by its handle and no other',
    as: 'api',
    given: twoMoreSessions,
    request: (ctx) => endJson(ctx, handleOf(ctx.kept.second!)),
    expect: { status: 204, text: /^$/ },
    async after(ctx) {
      const { second, third } = ctx.kept
      expect([await revoked(ctx, second!), await revoked(ctx, third!), await revoked(ctx, ctx.token)]).toEqual([
        true,
        false,
        false,
      ])
    },
  },
  {
    name: 'JSON: "others" ends every other session, keeping the one asking',
    as: 'api',
    given: twoMoreSessions,
    request: (ctx) => endJson(ctx, 'others'),
    expect: { status: 204 },
    async after(ctx) {
      expect([await revoked(ctx, ctx.kept.second!), await revoked(ctx, ctx.kept.third!)]).toEqual([true, true])
      const listed = (await ctx.service.dashboard(ctx.account.username, ctx.token)).json.sessions
      expect(listed).toEqual([expect.objectContaining({ id: handleOf(ctx.token), current: true })])
    },
  },
  ...refusals.map(
    ([label, session]): Scenario => ({
      name: `JSON: refuses ${label} with 400 on session, ending nothing`,
      as: 'api',
      async given(ctx) {
        await twoMoreSessions(ctx)
        await ctx.service.http.postJson('/sessions/end', { session: handleOf(ctx.kept.second!) }, { bearer: ctx.token })
        ctx.kept.stranger = await ctx.service.apiLogin(await ctx.service.register('stranger'))
      },
      request: (ctx) => endJson(ctx, session(ctx)),
      expect: {
        status: 400,
        code: 'validation_failed',
        json: { errors: [{ field: 'session', message: expect.any(String) }] },
      },
      async after(ctx, reply) {
        expect(reply.json.errors).toHaveLength(1)
        const live = [ctx.token, ctx.kept.third!, ctx.kept.stranger!]
        expect(await Promise.all(live.map((token) => revoked(ctx, token)))).toEqual([false, false, false])
      },
    }),
  ),
  {
    name: 'form: 303 back to the dashboard with a notice (Secure over HTTPS); the dashboard lists this session',
    as: 'browser',
    async given(ctx) {
      await twoMoreSessions(ctx)
      // the page had a sign-out button for each other session, and one for all of them
      const page = await ctx.service.http.getHtml(`/dashboard/${ctx.account.username}`, { jar: ctx.jar })
      expect(page.text.match(/action="\/sessions\/end"/g)).toHaveLength(2 + 1)
    },
    request: ({ service }) => ({
      path: '/sessions/end',
      method: 'POST',
      form: { session: 'others' },
      headers: { origin: service.origin },
    }),
    expect: { status: 303 },
    async after(ctx, reply) {
      const { service, account, jar } = ctx
      expect(reply.location).toBe(`/dashboard/${account.username}`)
      const notice = reply.setCookies.find((line) => /notice=sessions_ended;/.test(line))
      expect(notice).toMatch(service.transport === 'lambda' ? /^__Host-notice=sessions_ended;.*Secure/i : /^notice=/)
      const page = await service.http.getHtml(reply.location!, { jar })
      expect(page.text).toContain('Signed-in sessions')
      expect(page.text).toContain('this session')
      expect([await revoked(ctx, ctx.kept.second!), await revoked(ctx, ctx.kept.third!)]).toEqual([true, true])
    },
  },
  {
    name: 'JSON: without a session, 401 unauthorized',
    request: () => ({ path: '/sessions/end', method: 'POST', json: { session: 'others' } }),
    expect: { status: 401, code: 'unauthorized' },
  },
])
