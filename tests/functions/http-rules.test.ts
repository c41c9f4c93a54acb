// The contract's rules that hold for every route, as one scenario table (Lambda and HTTP): body
// limits and types, and the cross-origin guard. The headers every answer carries and the problem
// shape are checked on every row of every table (tests/helpers/scenarios.ts). What a URL or fetch
// cannot carry (a base64 event body, a false Content-Length, no Content-Type, a GET with a body)
// stays a handler-level test below the table.
import { describe, expect, it } from 'vitest'
import { handler as loginHandler } from '#functions/login.ts'
import { handler as dashboardHandler } from '#functions/dashboard.ts'
import { findUserByUsername } from '#lib/auth/users.ts'
import { lambdaContext } from '../../adapters/express-app.ts'
import { apiGatewayEvent, invoke, type EventInput } from '../helpers/events.ts'
import { expectProblem } from '../helpers/expect.ts'
import { strongPassword } from '../helpers/factories.ts'
import { bearer, header, signedInUser, type Result } from '../helpers/handlers.ts'
import type { Call } from '../helpers/http.ts'
import { runScenarios, type Scenario, type ScenarioContext } from '../helpers/scenarios.ts'
import { useService } from '../helpers/service.ts'

const KIB_16 = 16 * 1024
const EVIL = 'https://evil.example'

/** A JSON object body of exactly `bytes` bytes in UTF-8. */
function jsonOfSize(bytes: number): string {
  const shell = JSON.stringify({ username: 'someone', padding: '' })
  return JSON.stringify({ username: 'someone', padding: 'x'.repeat(bytes - Buffer.byteLength(shell)) })
}
const post = (path: string, body: string, type: string, headers: Record<string, string> = {}) => ({
  path,
  method: 'POST',
  body,
  headers: { 'content-type': type, accept: 'application/json', ...headers },
})
const newAccount = (ctx: ScenarioContext) => ({ username: ctx.name('new'), password: strongPassword() })
/** A registration from this origin (own) or another: after the row, whether the account exists. */
const registration = (ctx: ScenarioContext, call: Partial<Call>): Call & { path: string } => ({
  path: '/register',
  method: 'POST',
  form: newAccount(ctx),
  ...call,
})
const created = async (ctx: ScenarioContext) => findUserByUsername(ctx.service.runtime.db, ctx.name('new'))
const nothingCreated = async (ctx: ScenarioContext) => expect(await created(ctx)).toBeNull()
const XXE =
  '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><login><username>&x;</username></login>'

const bodies: Scenario[] = [
  ...(
    [
      ['a JSON body over 16 KiB', () => post('/login', jsonOfSize(KIB_16 + 1), 'application/json')],
      ['a text/plain body over 16 KiB', () => post('/login', 'x'.repeat(KIB_16 + 1), 'text/plain')],
      [
        'a body under 16 KiB in characters but over it in UTF-8 bytes',
        () => post('/login', JSON.stringify({ username: '🔑'.repeat(4200) }), 'application/json'),
      ],
    ] as const
  ).map(
    ([label, request]): Scenario => ({
      name: `refuses ${label} with 413 payload_too_large`,
      request,
      expect: { status: 413, code: 'payload_too_large' },
    }),
  ),
  {
    name: 'a form body over 16 KiB is the 413 page',
    request: (ctx) =>
      post('/register', `username=${'x'.repeat(KIB_16)}`, 'application/x-www-form-urlencoded', {
        origin: ctx.service.origin,
        accept: 'text/html',
      }),
    expect: { status: 413, headers: { 'content-type': /^text\/html/ } },
  },
  {
    name: 'accepts a JSON body of exactly 16 KiB (and judges its fields instead)',
    request: () => post('/login', jsonOfSize(KIB_16), 'application/json'),
    expect: { status: 400, code: 'validation_failed', json: { errors: [{ field: 'password' }] } },
  },
  ...(
    [
      ['text/plain', 'username=a&password=b'],
      ['application/xml', XXE],
      ['text/xml', XXE],
      ['application/soap+xml', XXE],
      ['multipart/form-data; boundary=x', '--x\r\nContent-Disposition: form-data; name="username"\r\n\r\na\r\n--x--'],
      ['application/jsonp', '{"username":"a"}'],
      ['text/html', '{"username":"a","password":"b"}'],
      ['application/octet-stream', '{"username":"a","password":"b"}'],
      ['application/x-json-stream', '{"username":"a","password":"b"}'],
      ['application/jsonx', '{"username":"a","password":"b"}'],
    ] as const
  ).map(
    ([type, body]): Scenario => ({
      name: `refuses a ${type} body with 415 unsupported_media_type (no XML parser to attack)`,
      request: () => post('/login', body, type),
      expect: { status: 415, code: 'unsupported_media_type', absent: ['root:'] },
    }),
  ),
  {
    name: 'judges the body of a POST to an unknown path before not-found’s 404',
    request: () => post('/nope', 'x', 'text/plain'),
    expect: { status: 415, code: 'unsupported_media_type' },
  },
  ...(
    [
      ['malformed JSON', '{"username": "a", '],
      ['a JSON array', '[{"username":"a","password":"b"}]'],
      ['a JSON number', '42'],
      ['a JSON string', '"username"'],
      ['JSON null', 'null'],
      ['JSON true', 'true'],
      ['a __proto__ key', '{"__proto__": {"isAdmin": true}, "username": "a", "password": "b"}'],
      ['a body that is only whitespace', '   '],
    ] as const
  ).map(
    ([label, json]): Scenario => ({
      name: `refuses ${label} with 400 validation_failed, never a 500`,
      request: () => post('/register', json, 'application/json'),
      expect: { status: 400, code: 'validation_failed', absent: ['SyntaxError', 'JSON.parse'] },
    }),
  ),
  ...['__proto__', 'constructor'].map(
    (key): Scenario => ({
      name: `names a forbidden ${key} key as such, not as broken JSON`,
      request: () =>
        post(
          '/register',
          `{"${key}": {"prototype": {"isAdmin": true}}, "username": "a", "password": "b"}`,
          'application/json',
        ),
      expect: { status: 400, code: 'validation_failed', json: { detail: `The JSON key "${key}" is not accepted.` } },
    }),
  ),
  ...[
    'application/json; charset=utf-8',
    'application/json;charset=UTF-8',
    'Application/JSON',
    'application/json ; charset=utf-8',
    'application/merge-patch+json',
    'application/vnd.api+json',
  ].map(
    (type): Scenario => ({
      name: `parses a JSON body sent as ${type}`,
      request: (ctx) => post('/register', JSON.stringify(newAccount(ctx)), type),
      expect: { status: 201 },
      after: async (ctx, reply) => expect(reply.json.user.username).toBe(ctx.name('new')),
    }),
  ),
  ...['application/x-www-form-urlencoded; charset=UTF-8', 'application/x-www-form-urlencoded ; charset=UTF-8'].map(
    (type): Scenario => ({
      name: `parses a form body sent as ${type}`,
      request: (ctx) =>
        post('/register', new URLSearchParams(newAccount(ctx)).toString(), type, { origin: ctx.service.origin }),
      expect: { status: 303 },
      after: async (ctx) => expect(await created(ctx)).not.toBeNull(),
    }),
  ),
]

/** Requests a page on another site could make a browser send: refused before the handler acts. */
const refusedCrossOrigin: [label: string, call: (ctx: ScenarioContext) => Partial<Call>, as?: Scenario['as']][] = [
  ['a form from another Origin', () => ({ headers: { origin: EVIL, accept: 'application/json' } })],
  ['a form with Origin: null', () => ({ headers: { origin: 'null' } })],
  ['a form marked Sec-Fetch-Site: cross-site', () => ({ headers: { 'sec-fetch-site': 'cross-site' } })],
  [
    'a form marked cross-site with its own Origin',
    (ctx) => ({ headers: { 'sec-fetch-site': 'cross-site', origin: ctx.service.origin } }),
  ],
  ['a form from another host of the LAN', () => ({ headers: { origin: 'http://192.168.1.21:8085' } })],
  [
    'a text/plain body from another Origin',
    () => ({ form: undefined, body: 'username=a', headers: { 'content-type': 'text/plain', origin: EVIL } }),
  ],
  [
    'JSON carrying a session cookie from another Origin',
    (ctx) => ({ form: undefined, json: newAccount(ctx), headers: { origin: EVIL } }),
    'browser',
  ],
  [
    'JSON carrying a session cookie marked cross-site',
    (ctx) => ({ form: undefined, json: newAccount(ctx), headers: { 'sec-fetch-site': 'cross-site' } }),
    'browser',
  ],
  // over HTTPS (the Lambda transport) only: over plain HTTP the http:// origin is the service's own
  [
    'a form from the http:// twin of the HTTPS origin',
    (ctx) => ({ headers: { origin: ctx.service.origin.replace('https:', 'http:') } }),
  ],
]

const origins: Scenario[] = [
  ...refusedCrossOrigin.map(
    ([label, call, as]): Scenario => ({
      name: `refuses ${label} with 403 cross_origin_rejected and does nothing`,
      as,
      only: label.includes('twin') ? 'lambda' : undefined,
      request: (ctx) => registration(ctx, call(ctx)),
      expect: { status: 403, cookies: { session: null } },
      async after(ctx, reply) {
        if (reply.contentType.startsWith('text/html')) expect(reply.text).toContain('Cross-origin request rejected')
        else expectProblem(reply, 403, 'cross_origin_rejected')
        await nothingCreated(ctx)
      },
    }),
  ),
  {
    name: 'refuses a cross-origin password change carrying the session cookie, changing nothing',
    as: 'browser',
    request: (ctx) => ({
      path: '/password',
      method: 'POST',
      json: { current_password: ctx.account.password, new_password: strongPassword() },
      headers: { origin: EVIL },
    }),
    expect: { status: 403, code: 'cross_origin_rejected' },
    after: async (ctx) => void (await ctx.service.apiLogin(ctx.account)),
  },
  {
    name: 'refuses a cross-site logout form, leaving the session alive',
    as: 'browser',
    request: () => ({ path: '/logout', method: 'POST', form: {}, headers: { origin: EVIL } }),
    expect: { status: 403 },
    after: async (ctx) => expect((await ctx.service.dashboard(ctx.account.username, ctx.token)).status).toBe(200),
  },
  {
    name: 'lets a same-origin form through (its own Origin, Sec-Fetch-Site same-origin)',
    request: (ctx) => registration(ctx, { headers: { origin: ctx.service.origin, 'sec-fetch-site': 'same-origin' } }),
    expect: { status: 303 },
    after: async (ctx) => expect(await created(ctx)).not.toBeNull(),
  },
  {
    name: 'lets an API client post JSON without cookies from anywhere',
    as: 'account',
    request: (ctx) => ({
      path: '/login',
      method: 'POST',
      json: { username: ctx.account.username, password: ctx.account.password },
      headers: { origin: EVIL },
    }),
    expect: { status: 200 },
  },
]

runScenarios('request bodies', bodies)
runScenarios('cross-origin requests', origins)

describe('request bodies a URL or fetch cannot carry (as Lambda)', () => {
  useService({ transport: 'lambda' })

  async function invokeBase64(raw: Buffer): Promise<Result> {
    const event = apiGatewayEvent({ path: '/login', json: {} })
    event.body = raw.toString('base64')
    event.isBase64Encoded = true
    const result = (await loginHandler(event as never, lambdaContext('test') as never)) as Result
    return { ...result, headers: (result.headers ?? {}) as Record<string, string> }
  }

  it('measures a base64-encoded body by its decoded size', async () => {
    const ok = Buffer.from(JSON.stringify({ username: 'someone', password: 'p'.repeat(40), pad: 'x'.repeat(13_000) }))
    expect(ok.length).toBeLessThan(KIB_16)
    expect(ok.toString('base64').length).toBeGreaterThan(KIB_16)
    expectProblem(await invokeBase64(ok), 401, 'invalid_credentials')
    expectProblem(await invokeBase64(Buffer.from(jsonOfSize(KIB_16 + 1))), 413, 'payload_too_large')
  })

  it('refuses a declared Content-Length over 16 KiB with 413, and a body without a Content-Type with 415', async () => {
    const declared: EventInput = { json: { username: 'someone' }, headers: { 'content-length': String(KIB_16 + 1) } }
    expectProblem(await invoke(loginHandler, { path: '/login', ...declared }), 413, 'payload_too_large')
    const untyped = { path: '/login', body: '{"username":"a","password":"b"}', headers: { accept: 'application/json' } }
    expectProblem(await invoke(loginHandler, untyped), 415, 'unsupported_media_type')
  })

  it('judges a body sent with a GET as any other (the contract’s 415 and 400)', async () => {
    // a GET-only route runs its body steps only when a body came: one that did is refused like a POST's
    const user = await signedInUser()
    const get = (body: string, type: string) =>
      invoke(dashboardHandler, {
        path: `/dashboard/${user.username}`,
        pathParameters: { username: user.username },
        body,
        headers: { 'content-type': type, accept: 'application/json', ...bearer(user.token) },
      })
    expectProblem(await get('[1]', 'text/plain'), 415, 'unsupported_media_type')
    expectProblem(await get('[1]', 'application/json'), 400, 'validation_failed')
    const plain = await get('', 'application/json')
    expect([plain.statusCode, header(plain, 'cache-control')]).toEqual([200, 'no-store'])
  })
})
