// The passkey routes (docs/api.md#passkeys): list, add (options, then the authenticator's answer),
// rename, remove. The Lambda transport is a secure context (HTTPS at API Gateway's name), so it runs
// the ceremonies with a software authenticator; the HTTP transport is reached at 127.0.0.1, an
// address, where passkeys cannot work and the page says why.
import { expect } from 'vitest'
import { listPasskeys } from '#lib/auth/passkey-store.ts'
import type { Call } from '../helpers/http.ts'
import { ACCOUNT, runScenarios, type Scenario, type ScenarioContext } from '../helpers/scenarios.ts'
import { API_HOST, credentialsOf } from '../helpers/service.ts'
import { createCredential, getAssertion, type SoftCredential } from '../helpers/soft-authenticator.ts'

const ORIGIN = `https://${API_HOST}`
type Request = Call & { path: string }

const api = ({ token }: ScenarioContext, path: string, json?: unknown): Request => ({
  path,
  method: json === undefined ? 'GET' : 'POST',
  json,
  bearer: token,
  headers: { accept: 'application/json' },
})
const form = ({ service }: ScenarioContext, path: string, fields: Record<string, string>): Request => ({
  path,
  method: 'POST',
  form: fields,
  headers: { origin: service.origin },
})
const passkeysOf = (ctx: ScenarioContext) => listPasskeys(ctx.service.runtime.db, ctx.account.id)

/** Opens a registration ceremony over JSON and answers it with a software authenticator. */
async function answerFor(ctx: ScenarioContext, origin = ORIGIN) {
  const reply = await ctx.service.http.call('/security/passkeys/options', api(ctx, '', { name: 'Key' }))
  expect(reply.status, reply.text).toBe(200)
  return createCredential(reply.json.options, { origin }).answer
}

/** The same through the pages: the options form, and the data-options of the page it answers. */
async function answerViaForm(ctx: ScenarioContext) {
  const reply = await ctx.service.http.call('/security/passkeys/options', {
    ...form(ctx, '', { name: 'Laptop' }),
    jar: ctx.jar,
  })
  expect(reply.status, reply.text).toBe(200)
  const attribute = /data-options="([^"]*)"/.exec(reply.text)![1]!
  const entities: Record<string, string> = { '&quot;': '"', '&#39;': "'", '&lt;': '<', '&gt;': '>', '&amp;': '&' }
  const options = JSON.parse(attribute.replace(/&(quot|#39|lt|gt|amp);/g, (entity) => entities[entity]!))
  return createCredential(options, { origin: ORIGIN }).answer
}

const credentials = new WeakMap<ScenarioContext, SoftCredential>()

/** A passkey added over JSON; its id is kept as ctx.kept.passkey. */
async function withPasskey(ctx: ScenarioContext) {
  const reply = await ctx.service.http.call('/security/passkeys/options', api(ctx, '', { name: 'YubiKey' }))
  const { credential, answer } = createCredential(reply.json.options, { origin: ORIGIN })
  const added = await ctx.service.http.call('/security/passkeys', api(ctx, '', { name: 'YubiKey', response: answer }))
  expect(added.status, added.text).toBe(201)
  ctx.kept.passkey = added.json.passkey.id
  credentials.set(ctx, credential)
}

/** POST /login: the pending sign-in's handle (the account has a passkey). */
async function pendingSignIn(ctx: ScenarioContext) {
  const reply = await ctx.service.http.call('/login', { json: { ...credentialsOf(ctx.account) } })
  expect(reply.json, reply.text).toMatchObject({ code: 'second_factor_required' })
  return reply.json.second_factor.pending as string
}

/** The second step's options and the passkey's answer to them, from `origin`. */
async function passkeyAnswer(ctx: ScenarioContext, pending: string, origin = ORIGIN) {
  const options = await ctx.service.http.call('/login/second-factor/passkey/options', { json: { pending } })
  expect(options.status, options.text).toBe(200)
  return getAssertion(credentials.get(ctx)!, options.json.options, { origin })
}

/** Another session of the same account, which the change must end (kept as ctx.kept.other). */
async function withOtherSession(ctx: ScenarioContext) {
  if (!credentials.has(ctx)) {
    ctx.kept.other = await ctx.service.apiLogin(ctx.account)
    return
  }
  const pending = await pendingSignIn(ctx)
  const json = { pending, response: await passkeyAnswer(ctx, pending) }
  const reply = await ctx.service.http.call('/login/second-factor/passkey', { json })
  expect(reply.status, reply.text).toBe(200)
  ctx.kept.other = reply.json.access_token
}
const otherSessionEnded = async (ctx: ScenarioContext) =>
  expect((await ctx.service.dashboard(ctx.account.username, ctx.kept.other!)).status).toBe(401)
const otherSessionLives = async (ctx: ScenarioContext) =>
  expect((await ctx.service.dashboard(ctx.account.username, ctx.kept.other!)).status).toBe(200)

const scenarios: Scenario[] = [
  {
    name: 'list, signed out → 401 unauthorized',
    request: () => ({ path: '/security/passkeys', headers: { accept: 'application/json' } }),
    expect: { status: 401, code: 'unauthorized' },
  },
  {
    name: 'list, no passkeys, at a secure name → empty, available here under that RP ID',
    as: 'api',
    only: 'lambda',
    request: (ctx) => api(ctx, '/security/passkeys'),
    expect: { status: 200, json: { passkeys: [], available_here: true, rp_id: API_HOST } },
  },
  {
    name: 'page at a secure name → the form to add one',
    as: 'browser',
    only: 'lambda',
    request: () => ({ path: '/security/passkeys', headers: { accept: 'text/html' } }),
    expect: { status: 200, text: /action="\/security\/passkeys\/options"[\s\S]*Add a passkey/ },
  },
  {
    name: 'page at 127.0.0.1 → no form to add one, and why',
    as: 'browser',
    only: 'http',
    request: () => ({ path: '/security/passkeys', headers: { accept: 'text/html' } }),
    expect: { status: 200, text: /^(?![\s\S]*\/security\/passkeys\/options)[\s\S]*opened by its address/ },
  },
  {
    name: 'options at 127.0.0.1 → 403 forbidden, no challenge',
    as: 'api',
    only: 'http',
    request: (ctx) => api(ctx, '/security/passkeys/options', { name: 'Key' }),
    expect: { status: 403, code: 'forbidden', text: /bound to a name, not an address/ },
  },
  {
    name: 'options without a name → 400 validation_failed',
    as: 'api',
    request: (ctx) => api(ctx, '/security/passkeys/options', { name: '  ' }),
    expect: { status: 400, code: 'validation_failed', text: /Give the passkey a name/ },
  },
  {
    name: 'options → the creation options for this RP ID, with a challenge and the timeout',
    as: 'api',
    only: 'lambda',
    request: (ctx) => api(ctx, '/security/passkeys/options', { name: 'Key' }),
    expect: {
      status: 200,
      json: { options: { rp: { id: API_HOST }, timeout: 300000, attestation: 'none' }, expires_at: expect.any(String) },
    },
  },
  {
    name: 'options, form → the page that runs the authenticator, no inline script',
    as: 'browser',
    only: 'lambda',
    request: (ctx) => form(ctx, '/security/passkeys/options', { name: 'Laptop' }),
    expect: { status: 200, text: /data-passkey="create" data-options="\{&quot;challenge&quot;[\s\S]*passkeys\.js/ },
  },
  {
    name: 'add, JSON answer to the open challenge → 201, stored, other sessions end',
    as: 'api',
    only: 'lambda',
    given: async (ctx) => {
      await withOtherSession(ctx)
      ctx.kept.answer = JSON.stringify(await answerFor(ctx))
    },
    request: (ctx) => api(ctx, '/security/passkeys', { name: 'Phone', response: JSON.parse(ctx.kept.answer!) }),
    expect: { status: 201, json: { passkey: { name: 'Phone', rp_id: API_HOST, last_used_at: null } } },
    after: async (ctx) => {
      expect((await passkeysOf(ctx)).map((p) => p.name)).toEqual(['Phone'])
      await otherSessionEnded(ctx)
      // the session that added it stays
      expect((await ctx.service.dashboard(ctx.account.username, ctx.token)).status).toBe(200)
    },
  },
  {
    name: 'add, form with the answer as JSON text → 303 to the passkeys page with its notice',
    as: 'browser',
    only: 'lambda',
    given: async (ctx) => {
      ctx.kept.answer = JSON.stringify(await answerViaForm(ctx))
    },
    request: (ctx) => form(ctx, '/security/passkeys', { name: 'Laptop', response: ctx.kept.answer! }),
    expect: { status: 303, location: '/security', cookies: { '__Host-notice': /passkey_added/ } },
  },
  {
    name: 'add, answer from another origin → 400 passkey_rejected, nothing stored, other sessions live',
    as: 'api',
    only: 'lambda',
    given: async (ctx) => {
      await withOtherSession(ctx)
      ctx.kept.answer = JSON.stringify(await answerFor(ctx, 'https://evil.example'))
    },
    request: (ctx) => api(ctx, '/security/passkeys', { name: 'Phone', response: JSON.parse(ctx.kept.answer!) }),
    expect: { status: 400, code: 'passkey_rejected' },
    after: async (ctx) => {
      expect(await passkeysOf(ctx)).toEqual([])
      await otherSessionLives(ctx)
    },
  },
  {
    name: 'add, no open challenge → 400 passkey_rejected',
    as: 'api',
    request: (ctx) => api(ctx, '/security/passkeys', { name: 'Key', response: '{"id":"x"}' }),
    expect: { status: 400, code: 'passkey_rejected' },
  },
  {
    name: 'rename → 204, the new name',
    as: 'api',
    only: 'lambda',
    given: withPasskey,
    request: (ctx) => api(ctx, `/security/passkeys/${ctx.kept.passkey}/name`, { name: 'Blue key' }),
    expect: { status: 204 },
    after: async (ctx) => expect((await passkeysOf(ctx)).map((p) => p.name)).toEqual(['Blue key']),
  },
  {
    name: 'rename to a name with a control character → 400 validation_failed',
    as: 'api',
    only: 'lambda',
    given: withPasskey,
    request: (ctx) => api(ctx, `/security/passkeys/${ctx.kept.passkey}/name`, { name: 'a\u0007b' }),
    expect: { status: 400, code: 'validation_failed', text: /control characters/ },
  },
  {
    name: 'rename a passkey that is not a number → 404 not_found',
    as: 'api',
    request: (ctx) => api(ctx, '/security/passkeys/x1/name', { name: 'Key' }),
    expect: { status: 404, code: 'not_found' },
  },
  {
    name: 'remove with a wrong password → 400 validation_failed on current_password, kept, other sessions live',
    as: 'api',
    only: 'lambda',
    given: async (ctx) => {
      await withPasskey(ctx)
      await withOtherSession(ctx)
    },
    request: (ctx) =>
      api(ctx, `/security/passkeys/${ctx.kept.passkey}/remove`, { current_password: `${ctx.account.password}x` }),
    expect: { status: 400, code: 'validation_failed', json: { errors: [{ field: 'current_password' }] } },
    after: async (ctx) => {
      expect(await passkeysOf(ctx)).toHaveLength(1)
      await otherSessionLives(ctx)
    },
  },
  {
    name: 'remove with the password → 204, gone, other sessions end',
    as: 'api',
    only: 'lambda',
    given: async (ctx) => {
      await withPasskey(ctx)
      await withOtherSession(ctx)
    },
    request: (ctx) =>
      api(ctx, `/security/passkeys/${ctx.kept.passkey}/remove`, { current_password: ctx.account.password }),
    expect: { status: 204 },
    after: async (ctx) => {
      expect(await passkeysOf(ctx)).toEqual([])
      await otherSessionEnded(ctx)
    },
  },
  {
    name: 'remove another account’s passkey → 404 not_found, it stays',
    as: 'api',
    only: 'lambda',
    given: async (ctx) => {
      const owner = await ctx.service.register('Owner')
      const ownerCtx = {
        ...ctx,
        account: owner,
        token: await ctx.service.apiLogin(owner),
        kept: {} as Record<string, string>,
      }
      await withPasskey(ownerCtx)
      ctx.kept.passkey = ownerCtx.kept.passkey!
      ctx.kept.owner = owner.id
    },
    request: (ctx) =>
      api(ctx, `/security/passkeys/${ctx.kept.passkey}/remove`, { current_password: ctx.account.password }),
    expect: { status: 404, code: 'not_found' },
    after: async (ctx) => expect(await listPasskeys(ctx.service.runtime.db, ctx.kept.owner!)).toHaveLength(1),
  },
]

const secondStep: Scenario[] = [
  {
    name: 'sign-in of an account with a passkey → 401 second_factor_required, the passkey step named',
    as: 'api',
    only: 'lambda',
    given: withPasskey,
    request: (ctx) => ({ path: '/login', method: 'POST', json: credentialsOf(ctx.account) }),
    expect: {
      status: 401,
      code: 'second_factor_required',
      json: {
        detail:
          'Send a code to POST /login/second-factor, or a passkey to POST /login/second-factor/passkey/options ' +
          'and then POST /login/second-factor/passkey.',
        second_factor: { methods: ['passkey'] },
      },
      logs: [{ event: 'login_password_accepted', userId: ACCOUNT.id, methods: ['passkey'] }],
    },
  },
  {
    name: 'second step with the passkey → 200 and a session that signed in with a passkey, counter recorded',
    as: 'api',
    only: 'lambda',
    given: async (ctx) => {
      await withPasskey(ctx)
      const pending = await pendingSignIn(ctx)
      ctx.kept.step = JSON.stringify({ pending, response: await passkeyAnswer(ctx, pending) })
    },
    request: (ctx) => ({ path: '/login/second-factor/passkey', method: 'POST', json: JSON.parse(ctx.kept.step!) }),
    expect: { status: 200, json: { token_type: 'Bearer', access_token: expect.any(String) } },
    after: async (ctx) => {
      const db = ctx.service.runtime.db
      const methods = await db.map(
        'SELECT sign_in_method FROM sessions WHERE user_id = $1 ORDER BY sign_in_method',
        [ctx.account.id],
        (row: { sign_in_method: string }) => row.sign_in_method,
      )
      // the scenario's own sign-in (before the passkey existed), and this one
      expect(methods).toEqual(['passkey', 'password'])
      expect((await passkeysOf(ctx))[0]).toMatchObject({ counter: 1, lastUsedAt: expect.any(Date) })
    },
  },
  {
    name: 'second step with an answer from another origin → 400 passkey_rejected, no session',
    as: 'api',
    only: 'lambda',
    given: async (ctx) => {
      await withPasskey(ctx)
      const pending = await pendingSignIn(ctx)
      ctx.kept.step = JSON.stringify({ pending, response: await passkeyAnswer(ctx, pending, 'https://evil.example') })
    },
    request: (ctx) => ({ path: '/login/second-factor/passkey', method: 'POST', json: JSON.parse(ctx.kept.step!) }),
    expect: { status: 400, code: 'passkey_rejected', absent: ['access_token'] },
  },
  {
    name: 'second step with the same answer twice → 401 pending_sign_in_expired (the sign-in is used up)',
    as: 'api',
    only: 'lambda',
    given: async (ctx) => {
      await withPasskey(ctx)
      const pending = await pendingSignIn(ctx)
      ctx.kept.step = JSON.stringify({ pending, response: await passkeyAnswer(ctx, pending) })
      const first = await ctx.service.http.call('/login/second-factor/passkey', { json: JSON.parse(ctx.kept.step) })
      expect(first.status).toBe(200)
    },
    request: (ctx) => ({ path: '/login/second-factor/passkey', method: 'POST', json: JSON.parse(ctx.kept.step!) }),
    expect: { status: 401, code: 'pending_sign_in_expired' },
  },
  {
    name: 'second-factor page of an account with only a passkey → “Use a passkey”, no code to type',
    as: 'api',
    only: 'lambda',
    given: async (ctx) => {
      await withPasskey(ctx)
      const signedIn = await ctx.service.http.call('/login', {
        form: credentialsOf(ctx.account),
        jar: ctx.jar,
        headers: { origin: ctx.service.origin },
      })
      expect(signedIn.location).toBe('/login/second-factor')
    },
    request: () => ({ path: '/login/second-factor', headers: { accept: 'text/html' } }),
    expect: {
      status: 200,
      text: /^(?![\s\S]*name="code")[\s\S]*action="\/login\/second-factor\/passkey\/options"[\s\S]*Use a passkey/,
    },
  },
  {
    name: 'second step options without a pending sign-in → 401 pending_sign_in_expired',
    request: () => ({ path: '/login/second-factor/passkey/options', method: 'POST', json: {} }),
    expect: { status: 401, code: 'pending_sign_in_expired' },
  },
]

runScenarios('passkeys', [...scenarios, ...secondStep])
