// GET /account: the signed-in account's own data, never its password or hash.
import { expect } from 'vitest'
import { runScenarios, type ScenarioContext } from '../helpers/scenarios.ts'
import { userAfterFirstSignIn } from '../helpers/service.ts'

// an API client: a page request without a session is sent to the sign-in page instead (303)
const getAccount = (ctx: ScenarioContext) => ({
  path: '/account',
  method: 'GET',
  headers: { accept: 'application/json' },
  bearer: ctx.token || undefined,
})

runScenarios('GET /account', [
  { name: 'signed out → 401 unauthorized', request: getAccount, expect: { status: 401, code: 'unauthorized' } },
  {
    name: 'a signed-out session → 401 unauthorized',
    as: 'api',
    given: async (ctx) =>
      expect((await ctx.service.http.postJson('/logout', {}, { bearer: ctx.token })).status).toBe(204),
    request: getAccount,
    expect: { status: 401, code: 'unauthorized' },
  },
  {
    name: 'signed in → the own account, no password hash',
    as: 'api',
    request: getAccount,
    expect: { status: 200, absent: ['password', 'hash', '$2'] },
    async after({ account }, reply) {
      expect(reply.json).toEqual({
        user: userAfterFirstSignIn(account),
      })
    },
  },
])
