// The OpenAPI document (made from the route modules' specs) cannot drift from the service: the document is valid OpenAPI 3.1, it lists
// exactly the routes of the route table and exactly the contract's problem codes, and real
// responses of every route — each success and each problem code a route can give — are checked
// against it (tests/helpers/openapi.ts). The last test requires every documented response to have
// been seen, but for the few listed below that this service cannot be made to give.
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Validator } from '@seriousme/openapi-schema-validator'
import { ROUTES } from '#lib/http/routes.ts'
import { PROBLEMS } from '#lib/problem.ts'
import { createSession } from '#lib/auth/sessions.ts'
import { setUserGroups } from '#lib/auth/groups.ts'
import { startEmbeddedPostgres, type EmbeddedPostgres } from '#lib/embedded-postgres/server.ts'
import { isAlive, spawnService, type ServiceProcess } from '../helpers/service-process.ts'
import { strongPassword, uniqueUsername } from '../helpers/factories.ts'
import {
  documentedOperations,
  documentedResponses,
  expectConforms,
  expectConformsToComponent,
  expectRequestConforms,
  HTTP_METHODS,
  openapi,
  schemaAt,
  seen,
} from '../helpers/openapi.ts'
import { totpCode } from '../helpers/second-factor.ts'
import { startFakeSupervisor } from '../helpers/fake-supervisor.ts'
import {
  client,
  clientAt,
  CookieJar,
  rawRequest,
  toHeaders,
  type Call,
  type Client,
  type Reply,
} from '../helpers/http.ts'
import { createCredential, getAssertion } from '../helpers/soft-authenticator.ts'
import { startService, type TestService } from '../helpers/service.ts'

// Documented, but no real request to this service here can produce them; each says why.
const UNREACHABLE: Record<string, string> = {
  'GET / 500': 'reads the database only under REGISTRATION=first (is there an account yet?); this test runs open',
  'GET /login 500': 'as GET /',
  'GET /register 500': 'as GET /',
  'GET /openapi.json 500': 'reads no database: a 500 would be a bug with no way to provoke it',
  'GET /problems/{code} 500': 'as GET /openapi.json',
  'GET / 503': 'as GET / 500; besides, on Express the runtime (the database) is up before the port opens',
  'GET /login 503': 'as GET /',
  'GET /register 503': 'as GET /',
  'GET /openapi.json 503': 'on Express the runtime is up before the port opens (on Lambda: a cold start)',
  'GET /problems/{code} 503': 'as GET /openapi.json',
  // forward-auth lets through or asks to sign in only under ACCESS_RULES, which this service has not:
  // tests/functions/verify.test.ts gets each of these and checks it against this document
  'GET /auth/verify 200': 'needs ACCESS_RULES: tests/functions/verify.test.ts',
  'GET /auth/verify 302': 'as GET /auth/verify 200',
  'GET /auth/verify 401': 'as GET /auth/verify 200',
  'GET /auth/nginx 200': 'as GET /auth/verify 200',
  'GET /auth/nginx 401': 'as GET /auth/verify 200',
  // a session that must set up a second factor first exists only under REQUIRE_SECOND_FACTOR
  'GET /account 403': 'needs REQUIRE_SECOND_FACTOR: tests/functions/second-factor-policy.test.ts',
}

const FOREIGN_ORIGIN = 'http://evil.example'
/** The passkey routes' POSTs and a body each takes (for the 500 and 503 rounds). */
const PASSKEY_POSTS = [
  ['/login/second-factor/passkey/options', { pending: 'A'.repeat(43) }],
  ['/login/second-factor/passkey', { pending: 'A'.repeat(43), response: '{}' }],
  ['/security/passkeys/options', { name: 'Key' }],
  ['/security/passkeys', { name: 'Key', response: '{}' }],
  ['/security/passkeys/{passkey}/name', { name: 'Key' }],
  ['/security/passkeys/{passkey}/remove', { current_password: 'a current password' }],
] as const
const OVERSIZED_JSON = JSON.stringify({ username: 'x'.repeat(17 * 1024), password: 'y' })

describe('the OpenAPI document is a valid OpenAPI 3.1 document of exactly this service', () => {
  it('validates against the OpenAPI 3.1 schema', async () => {
    const result = await new Validator().validate(structuredClone(openapi) as unknown as Record<string, unknown>)
    expect(result.errors ?? [], JSON.stringify(result.errors, null, 2)).toEqual([])
    expect(result.valid).toBe(true)
    expect(openapi.openapi).toMatch(/^3\.1\./)
  })

  it('lists every route of the route table, and no other', () => {
    expect(documentedOperations().sort()).toEqual(Object.keys(ROUTES).sort())
  })

  it("has the contract's closed list of problem codes, each with its one status and title", () => {
    const schemas = openapi.components.schemas as Record<string, any>
    expect([...schemas.ProblemCode.enum].sort()).toEqual(Object.keys(PROBLEMS).sort())
    const problemSchemas = Object.keys(schemas).filter((name) => name.endsWith('Problem') && name !== 'Problem')
    const consts = problemSchemas.flatMap((name) => {
      const schema = schemas[name]
      const variants = schema.oneOf ?? [{ properties: schema.properties }]
      return variants.map((v: any) => [
        v.properties.code.const,
        schema.properties.status.const,
        v.properties.title.const,
      ])
    })
    expect(consts.sort()).toEqual(
      Object.entries(PROBLEMS)
        .map(([code, [status, title]]) => [code, status, title])
        .sort(),
    )
  })

  it('a schema location that is not in the document is an error, not a pass', () => {
    expect(() => schemaAt('components', 'schemas', 'NoSuchSchema')).toThrow()
  })

  it('every $ref resolves', () => {
    const refs = JSON.stringify(openapi).match(/"\$ref":"[^"]+"/g) ?? []
    for (const ref of new Set(refs)) {
      const target = JSON.parse(`{${ref}}`)
        .$ref.replace(/^#\//, '')
        .split('/')
        .map((p: string) => p.replaceAll('~1', '/'))
      expect(
        target.reduce((node: any, part: string) => node?.[part], openapi),
        ref,
      ).toBeDefined()
    }
  })
})

describe('REGISTRATION=closed: the service as its own process (embedded database)', () => {
  let service: ServiceProcess | undefined
  let dataDir = ''
  afterAll(async () => {
    await service?.stop()
    if (dataDir) await rm(dataDir, { recursive: true, force: true })
  })

  it('GET /register and POST /register: 403 forbidden; the service map has no register link', async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), 'ga-'))
    service = await spawnService({ DATA_DIR: dataDir, REGISTRATION: 'closed', LOG_LEVEL: 'info' })
    const http = client(service.baseUrl)
    const json = { accept: 'application/json' }
    const reply = async (method: string, template: string, call: Call) => {
      const answer = await http.call(template, { ...call, method })
      expectConforms(method, template, answer)
      return answer
    }
    expect((await reply('GET', '/register', { headers: json })).json.code).toBe('forbidden')
    expect((await reply('GET', '/register', { headers: { accept: 'text/html' } })).status).toBe(403)
    const refused = await reply('POST', '/register', {
      json: { username: uniqueUsername('closed'), password: strongPassword() },
    })
    expect(refused.json.code).toBe('forbidden')
    expect((await reply('GET', '/', { headers: json })).json.register).toBeUndefined()
  })
})

describe('real responses of every route match the document (embedded database)', () => {
  let service: TestService
  let http: Client
  let restarted: EmbeddedPostgres | undefined
  let address = 0
  /** A fresh client address per request (TRUST_PROXY=loopback), unless the test pins one: throttles stay apart. */
  const from = (ip = `203.0.113.${++address % 250}`) => ({ 'x-forwarded-for': ip })

  beforeAll(async () => {
    service = await startService({
      kind: 'embedded',
      env: { TRUST_PROXY: 'loopback', LOGIN_MAX_FAILURES: '2', REGISTRATIONS_PER_HOUR: '3' },
    })
    http = client(service.baseUrl)
  })
  afterAll(async () => {
    await service?.stop()
    await restarted?.stop()
  })

  type Sent = Call & { path?: string; via?: Client }
  /** Sends `call` to `template` (`path` is the real path) and checks the answer against the document. */
  async function check(method: string, template: string, call: Sent = {}): Promise<Reply> {
    const headers = { ...from(), ...call.headers }
    const reply = await (call.via ?? http).call(call.path ?? template, { ...call, method, headers })
    expectConforms(method, template, reply)
    if (reply.status < 400) {
      if (call.json !== undefined && typeof call.json === 'object')
        expectRequestConforms(method, template, 'application/json', call.json)
      if (call.form) expectRequestConforms(method, template, 'application/x-www-form-urlencoded', call.form)
    }
    return reply
  }
  /** `check`, and the answer has `status`. */
  async function answers(status: number, method: string, template: string, call: Sent = {}): Promise<Reply> {
    const reply = await check(method, template, call)
    expect(reply.status, `${method} ${call.path ?? template}: ${reply.text.slice(0, 200)}`).toBe(status)
    return reply
  }
  const post = (status: number, template: string, call: Sent = {}) => answers(status, 'POST', template, call)
  const json = { accept: 'application/json' }
  const html = { accept: 'text/html' }
  const foreign = { origin: FOREIGN_ORIGIN, ...json }
  /** `times` of the same request from one address: the statuses, for a throttle's 429 at the end. */
  const repeated = async (times: number, send: () => Promise<Reply>) => {
    const statuses = []
    for (let i = 0; i < times; i++) statuses.push((await send()).status)
    return statuses
  }

  async function account(prefix: string) {
    const creds = { username: uniqueUsername(prefix), password: strongPassword() }
    await post(201, '/register', { json: creds })
    const login = await post(200, '/login', { json: creds })
    return { ...creds, token: login.json.access_token as string, id: login.json.user.id as string }
  }
  async function browser(creds: { username: string; password: string }) {
    const jar = new CookieJar()
    await post(303, '/login', { form: creds, sameOrigin: true, jar })
    return jar
  }

  it('pages, the service map, health, static files, problem types and this document', async () => {
    for (const template of ['/', '/login']) {
      expect((await answers(200, 'GET', template, { headers: json })).json).toMatchObject({ openapi: '/openapi.json' })
      expect((await answers(200, 'GET', template, { headers: html })).contentType).toMatch(/^text\/html/)
    }
    await answers(200, 'GET', '/register', { headers: html })
    expect((await check('GET', '/health')).json).toEqual({ status: 'ok', database: 'ok' })
    await answers(200, 'GET', '/static/{file}', { path: '/static/style.css' })
    await answers(404, 'GET', '/static/{file}', { path: '/static/nothing.css', headers: json })
    // seen here; what they say is tests/functions/problem-type.test.ts
    await answers(200, 'GET', '/problems/{code}', { path: '/problems/rate_limited', headers: json })
    await answers(404, 'GET', '/problems/{code}', { path: '/problems/no_such_code', headers: json })
    const served = await check('GET', '/openapi.json', { headers: html })
    expect(served.contentType).toMatch(/^application\/json/)
    expect(served.json).toEqual(openapi)
  })

  it('every POST route: 400 malformed JSON, 403 a form from another site, 413, 415; the signed-in ones 401, a form 303', async () => {
    const routes = Object.keys(openapi.paths).filter((template) => openapi.paths[template]!.post)
    expect(routes.length).toBeGreaterThan(15)
    for (const template of routes) {
      const path = concretePath(template)
      const typed = (type: string) => ({ 'content-type': type, ...json })
      await post(400, template, { path, body: '{', headers: typed('application/json') })
      for (const accept of [json, html])
        await post(403, template, { path, form: {}, headers: { ...foreign, ...accept } })
      await post(413, template, { path, body: OVERSIZED_JSON, headers: typed('application/json') })
      await post(415, template, { path, body: 'x', headers: typed('text/plain') })
      if (!signedIn(template, 'post')) continue
      expect((await post(401, template, { path, json: {} })).json.code).toBe('unauthorized')
      // an empty form (sent as text: the request schema is the handler's, and the session check comes first)
      const emptyForm = { path, body: '', headers: { 'content-type': 'application/x-www-form-urlencoded' } }
      if ('303' in openapi.paths[template]!.post!.responses)
        expect((await post(303, template, { ...emptyForm, sameOrigin: true })).location).toBe('/')
    }
  })

  it('POST /register: 201, 303, 400, 409, 429', async () => {
    const taken = await account('taken')
    const form = { username: uniqueUsername('form'), password: strongPassword() }
    await post(303, '/register', { form, sameOrigin: true })
    const invalid = await post(400, '/register', { json: { username: 'a', password: 'short' } })
    expect(invalid.json.errors.map((e: { field: string }) => e.field).sort()).toEqual(['password', 'username'])
    await post(400, '/register', { form: { username: 'a', password: 'short' }, sameOrigin: true })
    const upper = { username: taken.username.toUpperCase(), password: strongPassword() }
    expect((await post(409, '/register', { json: upper })).json.code).toBe('username_taken')
    // REGISTRATIONS_PER_HOUR=3 from one address, taken names included
    const one = from('203.0.113.251')
    const again = { json: { username: taken.username, password: strongPassword() }, headers: one }
    expect(await repeated(4, () => check('POST', '/register', again))).toEqual([409, 409, 409, 429])
  })

  it('POST /login: 200, 303, 400, 401, 429', async () => {
    const user = await account('login')
    await browser(user)
    await post(400, '/login', { json: { username: user.username } })
    await post(400, '/login', { form: { username: user.username }, sameOrigin: true })
    const wrong = { ...user, password: 'wrong password, long enough' }
    expect((await post(401, '/login', { json: wrong })).json.code).toBe('invalid_credentials')
    await post(401, '/login', { form: { username: user.username, password: 'wrong password!' }, sameOrigin: true })
    // LOGIN_MAX_FAILURES=2 for one username from one address
    const one = from('203.0.113.252')
    const guess = { json: { username: user.username, password: 'not the password at all' }, headers: one }
    expect(await repeated(3, () => check('POST', '/login', guess))).toEqual([401, 401, 429])
    const form = { username: user.username, password: 'not it' }
    await post(429, '/login', { form, sameOrigin: true, headers: one })
  })

  it('GET /dashboard/{username}: 200, 303, 401 (both codes), 403, 404', async () => {
    const user = await account('dash')
    const other = await account('other')
    const at = (username: string, call: Sent) => ({ path: `/dashboard/${username}`, ...call })
    const dashboard = (status: number, call: Sent) => answers(status, 'GET', '/dashboard/{username}', call)
    const own = await dashboard(200, at(user.username, { bearer: user.token, headers: json }))
    expect(own.json.sessions.filter((s: { current: boolean }) => s.current)).toHaveLength(1)
    const jar = await browser(user)
    await dashboard(200, at(user.username, { jar, headers: html }))
    expect((await dashboard(303, at(user.username, { headers: html }))).location).toBe('/')
    expect((await dashboard(401, at(user.username, { headers: json }))).json.code).toBe('unauthorized')
    const { token: expired } = await createSession(
      service.runtime.db,
      user,
      new Date(Date.now() - 7200_000),
      service.runtime,
    )
    const late = at(user.username, { bearer: expired, headers: json })
    expect((await dashboard(401, late)).json.code).toBe('session_expired')
    const another = at(other.username, { bearer: user.token, headers: json })
    expect((await dashboard(403, another)).json.code).toBe('forbidden')
    await dashboard(403, at(other.username, { jar, headers: html }))
    // a name no account can have (here with a combining accent) is no dashboard
    const accented = encodeURIComponent(user.username.replace('a', 'a\u0301'))
    expect((await dashboard(404, at(accented, { bearer: user.token, headers: json }))).json.code).toBe('not_found')
  })

  it('POST /password: 204, 303, 400, 429', async () => {
    const user = await account('pass')
    const changed = { current_password: user.password, new_password: strongPassword() }
    await post(204, '/password', { json: changed, bearer: user.token })
    await post(400, '/password', { json: { current_password: 'wrong' }, bearer: user.token })
    // a wrong current password counts as a failed sign-in: LOGIN_MAX_FAILURES=2
    const one = from('203.0.113.253')
    const wrong = { current_password: 'a wrong current password', new_password: strongPassword() }
    const guess = { json: wrong, bearer: user.token, headers: one }
    expect(await repeated(3, () => check('POST', '/password', guess))).toEqual([400, 400, 429])
    const jar = await browser({ username: user.username, password: changed.new_password })
    const again = { current_password: changed.new_password, new_password: strongPassword() }
    const form = await post(303, '/password', { form: again, jar, sameOrigin: true })
    expect(form.location).toBe(`/dashboard/${user.username}`)
  })

  it('POST /logout: 204, 303', async () => {
    const user = await account('out')
    await post(204, '/logout', { json: {}, bearer: user.token })
    await post(204, '/logout', { json: {} })
    const jar = await browser(user)
    expect((await post(303, '/logout', { form: {}, jar, sameOrigin: true })).location).toBe('/')
  })

  it('POST /sessions/end: 204, 303, 400, 401', async () => {
    const user = await account('end')
    const second = (await post(200, '/login', { json: credentials(user) })).json.access_token
    const listed = await answers(200, 'GET', '/dashboard/{username}', {
      path: `/dashboard/${user.username}`,
      bearer: user.token,
      headers: json,
    })
    const handle = listed.json.sessions.find((s: { current: boolean }) => !s.current).id
    await post(204, '/sessions/end', { json: { session: handle }, bearer: user.token })
    const ended = await post(400, '/sessions/end', { json: { session: handle }, bearer: user.token })
    expect(ended.json.errors[0].field).toBe('session')
    const others = { session: 'others' }
    expect((await post(401, '/sessions/end', { json: others, bearer: second })).json.code).toBe('unauthorized')
    await post(204, '/sessions/end', { json: others, bearer: user.token })
    const jar = await browser(user)
    const form = await post(303, '/sessions/end', { form: others, jar, sameOrigin: true })
    expect(form.location).toBe(`/dashboard/${user.username}`)
  })

  it('POST /gateway/forwarder/restart: 202, 303, 400, 403, 409, 429', async () => {
    const supervisor = await startFakeSupervisor()
    const savedEnv = process.env
    process.env = { ...savedEnv, ...supervisor.env }
    try {
      const user = await account('restart')
      const restart = (status: number, call: Call) => post(status, '/gateway/forwarder/restart', call)
      const confirmed = { confirm: 'restart' }
      await setUserGroups(service.runtime.db, user.id, [])
      await restart(403, { json: confirmed, bearer: user.token })
      await setUserGroups(service.runtime.db, user.id, ['admins'])
      const admin = (await post(200, '/login', { json: credentials(user) })).json.access_token
      await restart(400, { json: {}, bearer: admin })
      supervisor.locked = true
      expect((await restart(409, { json: confirmed, bearer: admin })).json.code).toBe('restart_not_possible')
      supervisor.locked = false
      await restart(202, { json: confirmed, bearer: admin })
      await restart(429, { json: confirmed, bearer: admin })
      await service.runtime.db.none("DELETE FROM throttle WHERE key LIKE 'forwarder_restart%'")
      const jar = await browser(user)
      const form = await restart(303, { form: confirmed, jar, sameOrigin: true, headers: html })
      expect(form.location).toBe(`/dashboard/${user.username}`)
    } finally {
      process.env = savedEnv
      await supervisor.close()
    }
  })

  it('the second factor: /login/second-factor and /security/*, each answer they document', async () => {
    const user = await account('factor')
    // a pending sign-in answers only the address it was given to
    const me = from('203.0.113.240')
    const totp = { json: {}, bearer: user.token }
    const key = (await post(201, '/security/totp', totp)).json.totp_key as string
    const confirm = (code: string, password = user.password) => ({
      json: { code, current_password: password },
      bearer: user.token,
    })
    await post(400, '/security/totp/confirm', confirm('000000', 'not the password'))
    const codes = (await post(200, '/security/totp/confirm', confirm(totpCode(key, Date.now())))).json
      .recovery_codes as string[]
    expect((await post(409, '/security/totp', totp)).json.code).toBe('second_factor_exists')
    await post(409, '/security/totp/confirm', confirm('000000'))

    const pending = (await post(401, '/login', { json: user, headers: me })).json.second_factor.pending as string
    const second = { json: { pending, code: totpCode(key, Date.now() + 30_000) }, headers: me }
    await post(200, '/login/second-factor', second)
    await post(401, '/login/second-factor', second)
    await post(400, '/login/second-factor', { json: {} })
    const jar = new CookieJar()
    await post(303, '/login', { form: user, sameOrigin: true, jar, headers: me })
    await answers(200, 'GET', '/login/second-factor', { jar, headers: { ...html, ...me } })
    await answers(303, 'GET', '/login/second-factor', { headers: html })
    await answers(401, 'GET', '/login/second-factor', { headers: json })
    await post(303, '/login/second-factor', { form: { code: codes[0]! }, jar, sameOrigin: true, headers: me })
    // LOGIN_MAX_FAILURES=2 wrong codes for one account from one address
    const one = from('203.0.113.254')
    const again = (await post(401, '/login', { json: user, headers: one })).json.second_factor.pending
    const guess = { json: { pending: again, code: 'wrong-code-0000' }, headers: one }
    expect(await repeated(3, () => check('POST', '/login/second-factor', guess))).toEqual([401, 401, 429])

    // the forms that change the factors: 200/204 and 303, 400, 403, 429
    const password = { current_password: user.password }
    const other = await account('nofactor')
    const otherJar = await browser(other)
    await post(303, '/security/totp', { form: {}, jar: otherJar, sameOrigin: true })
    await answers(200, 'GET', '/security', { jar: otherJar, headers: html })
    await answers(303, 'GET', '/security', { headers: html })
    const asOther = { json: { current_password: other.password }, bearer: other.token }
    expect((await post(403, '/security/recovery-codes', asOther)).json.code).toBe('forbidden')
    const sessionJar = new CookieJar()
    await post(303, '/login', { form: user, sameOrigin: true, jar: sessionJar, headers: me })
    await post(303, '/login/second-factor', {
      form: { code: codes[1]! },
      jar: sessionJar,
      sameOrigin: true,
      headers: me,
    })
    const wrongPassword = { json: { code: '000000', current_password: 'not the password' }, bearer: other.token }
    for (const path of ['/security/totp/confirm', '/security/totp/remove', '/security/recovery-codes'])
      expect(await repeated(3, () => check('POST', path, { ...wrongPassword, headers: from() })), path).toContain(400)
    const locked = await repeated(3, async () => {
      await check('POST', '/security/totp/remove', { ...wrongPassword, headers: one })
      await check('POST', '/security/totp/confirm', { ...wrongPassword, headers: one })
      return check('POST', '/security/recovery-codes', { ...wrongPassword, headers: one })
    })
    expect(locked).toContain(429)
    await post(200, '/security/recovery-codes', { form: password, jar: sessionJar, sameOrigin: true })
    // the recovery codes ended the other sessions (user.token among them): the jar's is the one left
    const asJson = { json: password, jar: sessionJar, sameOrigin: true }
    await post(200, '/security/recovery-codes', asJson)
    await post(204, '/security/totp/remove', asJson)
    const remove = { form: { current_password: other.password }, jar: otherJar, sameOrigin: true }
    await post(303, '/security/totp/remove', remove)
  })

  it('the passkeys: /security/passkeys/* and /login/second-factor/passkey*, each answer they document', async () => {
    const user = await account('keys')
    // passkeys need a name: the ceremonies run at http://localhost:<port>, a secure context
    const local = `localhost:${new URL(service.baseUrl).port}`
    const localOrigin = `http://${local}`
    const via = clientAt(service.baseUrl, local)
    // a pending sign-in answers only the address it was given to
    const me = from('203.0.113.241')
    const name = { name: 'Key' }
    const addPasskey = async () => {
      const options = await post(200, '/security/passkeys/options', { json: name, bearer: user.token, via })
      const { credential, answer } = createCredential(options.json.options, { origin: localOrigin })
      const added = await post(201, '/security/passkeys', {
        json: { ...name, response: answer },
        bearer: user.token,
        via,
      })
      return { credential, answer, id: added.json.passkey.id as string }
    }
    await post(403, '/security/passkeys/options', { json: name, bearer: user.token })
    await post(400, '/security/passkeys/options', { json: { name: '' }, bearer: user.token })
    const first = await addPasskey()
    const again = { json: { ...name, response: first.answer }, bearer: user.token }
    expect((await post(400, '/security/passkeys', again)).json.code).toBe('passkey_rejected')

    // the second step with it, JSON: 200, then the used pending sign-in 401; 400, 403
    const signInOptions = (pending: string, headers = me) =>
      check('POST', '/login/second-factor/passkey/options', { json: { pending }, headers, via })
    const pendingFor = async (headers = me) =>
      (await post(401, '/login', { json: user, headers })).json.second_factor.pending as string
    let pending = await pendingFor()
    const answer = async (origin = localOrigin, headers = me) =>
      getAssertion(first.credential, (await signInOptions(pending, headers)).json.options, { origin })
    const signIn = { json: { pending, response: await answer() }, headers: me, via }
    await post(200, '/login/second-factor/passkey', signIn)
    await post(401, '/login/second-factor/passkey', signIn)
    await post(401, '/login/second-factor/passkey/options', { json: {}, headers: me, via })
    await post(400, '/login/second-factor/passkey', { json: {}, headers: me, via })
    await post(400, '/login/second-factor/passkey/options', { json: { pending: 5 }, headers: me, via })
    pending = await pendingFor()
    await post(403, '/login/second-factor/passkey/options', { json: { pending }, headers: me })
    // a refused answer counts like a wrong code: LOGIN_MAX_FAILURES=2
    const one = from('203.0.113.242')
    const refused = await repeated(3, async () => {
      pending = await pendingFor(one)
      const json = { pending, response: await answer('http://evil.example', one) }
      return check('POST', '/login/second-factor/passkey', { json, headers: one, via })
    })
    expect(refused).toEqual([400, 400, 429])

    // a second passkey (which ends the other sessions) before the browser signs in
    const second = await addPasskey()
    // the same in a browser at localhost: the pages, and the 303 that signs in
    const jar = new CookieJar()
    const localOwn = { jar, headers: { origin: localOrigin, ...me }, via }
    expect((await post(303, '/login', { form: user, ...localOwn })).location).toBe('/login/second-factor')
    const page = await post(200, '/login/second-factor/passkey/options', { form: {}, ...localOwn })
    const pageOptions = JSON.parse(/data-options="([^"]*)"/.exec(page.text)![1]!.replaceAll('&quot;', '"'))
    const fromPage = getAssertion(first.credential, pageOptions, { origin: localOrigin })
    await post(303, '/login/second-factor/passkey', { form: { response: JSON.stringify(fromPage) }, ...localOwn })
    await post(303, '/login/second-factor/passkey/options', { form: {}, sameOrigin: true })
    await answers(303, 'GET', '/security/passkeys', { headers: html })

    // rename and remove: 204, 303, 400, 404, 429
    const renameAt = (status: number, id: string, call: Sent) =>
      post(status, '/security/passkeys/{passkey}/name', { path: `/security/passkeys/${id}/name`, ...call })
    const removeAt = (status: number, id: string, call: Sent) =>
      post(status, '/security/passkeys/{passkey}/remove', { path: `/security/passkeys/${id}/remove`, ...call })
    await renameAt(204, first.id, { json: { name: 'Blue' }, bearer: user.token })
    await renameAt(400, first.id, { json: { name: '' }, bearer: user.token })
    await renameAt(404, '999999', { json: name, bearer: user.token })
    const password = { current_password: user.password }
    await removeAt(404, '999999', { json: password, bearer: user.token })
    const wrong = { json: { current_password: 'a wrong current password' }, bearer: user.token, headers: one }
    const locked = await repeated(3, () =>
      check('POST', '/security/passkeys/{passkey}/remove', { path: `/security/passkeys/${first.id}/remove`, ...wrong }),
    )
    expect(locked).toEqual([400, 400, 429])
    // the browser's session (a form: 303 to /security), the last removal from JSON with its cookie
    expect((await renameAt(303, first.id, { form: name, ...localOwn })).location).toBe('/security')
    expect((await removeAt(303, second.id, { form: password, ...localOwn })).location).toBe('/security')
    await removeAt(204, first.id, { json: password, ...localOwn })
  })

  it('every signed-in GET route: 200 with a session, 401 without one', async () => {
    const user = await account('reader')
    for (const template of signedInGets()) {
      const path = concretePath(template, user.username)
      await answers(200, 'GET', template, { path, bearer: user.token, headers: json })
      await answers(401, 'GET', template, { path, headers: json })
    }
  })

  it("any other path: 404 not_found; a documented path with another method: 405 with the document's methods in Allow", async () => {
    const missing = await http.call('/no/such/route', { headers: json })
    expect(missing.status).toBe(404)
    expectConformsToComponent('NotFound', missing, 'GET /no/such/route')
    const page = await http.call('/no/such/route', { headers: html })
    expectConformsToComponent('NotFound', page, 'GET /no/such/route (HTML)')
    for (const [template, item] of Object.entries(openapi.paths)) {
      const documented = HTTP_METHODS.filter((m) => m in item).map((m) => m.toUpperCase())
      const allow = new Set([...documented, ...(documented.includes('GET') ? ['HEAD'] : [])])
      const concrete = concretePath(template)
      for (const method of ['GET', 'POST', 'PUT', 'DELETE', 'PATCH'].filter((m) => !allow.has(m))) {
        const reply = await http.call(concrete, { method, headers: json })
        const label = `${method} ${concrete}`
        expect(reply.status, label).toBe(405)
        expectConformsToComponent('MethodNotAllowed', reply, label)
        expect(new Set(reply.headers.get('allow')!.split(', ')), label).toEqual(allow)
      }
    }
  })

  it('GET /auth/verify and GET /auth/nginx without ACCESS_RULES: 400 without the URL, 403 with it', async () => {
    const asked = {
      '/auth/verify': { 'x-forwarded-proto': 'http', 'x-forwarded-host': 'gateway.local', 'x-forwarded-uri': '/app/' },
      '/auth/nginx': { 'x-original-url': 'http://gateway.local/app/' },
    }
    for (const [template, headers] of Object.entries(asked)) {
      await answers(400, 'GET', template, { headers: json })
      for (const accept of [json, html]) await answers(403, 'GET', template, { headers: { ...accept, ...headers } })
    }
  })

  it('a Host the service does not answer to: 421 misdirected_request on every route', async () => {
    for (const [template, item] of Object.entries(openapi.paths)) {
      for (const method of HTTP_METHODS.filter((m) => m in item).map((m) => m.toUpperCase())) {
        const post = method === 'POST'
        const raw = await rawRequest(service.baseUrl, {
          method,
          path: concretePath(template),
          headers: {
            host: 'rebound.example',
            accept: 'application/json',
            ...(post ? { 'content-type': 'application/json' } : {}),
          },
          body: post ? Buffer.from('{}') : undefined,
        })
        const headers = toHeaders(raw.headers)
        const reply = { status: raw.status, headers, contentType: headers.get('content-type') ?? '', text: raw.text }
        expect(reply.status, `${method} ${template}`).toBe(421)
        expectConforms(method, template, reply)
      }
    }
  })

  /** A request to every route that reads the database, signed in as `user` (or its browser's `jar`). */
  function databaseCalls(user: { username: string; password: string; token: string }, jar: CookieJar) {
    const bearer = user.token
    const creds = { username: uniqueUsername('late'), password: strongPassword() }
    const pending = { cookie: `pending_sign_in=${'A'.repeat(43)}` }
    const calls: [string, string, Sent][] = [
      ['POST', '/register', { json: creds }],
      ['POST', '/login', { json: creds }],
      ...signedInGets().map((t): [string, string, Sent] => [
        'GET',
        t,
        { path: concretePath(t, user.username), bearer },
      ]),
      ['POST', '/password', { json: { current_password: user.password, new_password: strongPassword() }, bearer }],
      ['POST', '/logout', { json: {}, bearer }],
      ['POST', '/sessions/end', { form: { session: 'others' }, jar, sameOrigin: true }],
      ['POST', '/gateway/forwarder/restart', { json: { confirm: 'restart' }, bearer }],
      ['GET', '/login/second-factor', { headers: pending }],
      ['POST', '/login/second-factor', { json: { pending: 'A'.repeat(43), code: '123456' } }],
      ...['/security/totp', '/security/totp/confirm', '/security/totp/remove'].map((t): [string, string, Sent] => [
        'POST',
        t,
        { json: { current_password: user.password, code: '1' }, bearer },
      ]),
      ['POST', '/security/recovery-codes', { json: { current_password: 'x' }, bearer }],
      ...PASSKEY_POSTS.map(([t, body]): [string, string, Sent] => [
        'POST',
        t,
        { path: concretePath(t), json: body, bearer },
      ]),
      ['GET', '/auth/verify', { jar }],
      ['GET', '/auth/nginx', { jar }],
    ]
    return calls
  }

  it('a failing query: 500 internal_error on every route that reads the database', async () => {
    const user = await account('broken')
    const jar = await browser(user)
    // a real failure of a real query: the users table is not where the service looks for it
    await service.runtime.db.none('ALTER TABLE users RENAME TO users_moved_away')
    try {
      for (const accept of [json, html])
        for (const [method, template, call] of databaseCalls(user, jar))
          await answers(500, method, template, { ...call, headers: { ...accept, ...call.headers } })
    } finally {
      await service.runtime.db.none('ALTER TABLE users_moved_away RENAME TO users')
    }
    const path = `/dashboard/${user.username}`
    await answers(200, 'GET', '/dashboard/{username}', { path, bearer: user.token })
  })

  it('the database gone: 503 service_unavailable with Retry-After on every route that needs it; /health 503', async () => {
    const user = await account('down')
    const jar = await browser(user)
    const pidFile = path.join(service.dataDir, 'postgres', 'postmaster.pid')
    const pid = Number((await readFile(pidFile, 'utf8')).split('\n')[0])
    process.kill(pid, 'SIGINT')
    for (let i = 0; i < 200 && isAlive(pid); i++) await sleep(50)
    expect(isAlive(pid)).toBe(false)

    expect((await check('GET', '/health')).json).toEqual({ status: 'unavailable', database: 'unavailable' })
    for (const accept of [json, html])
      for (const [method, template, call] of databaseCalls(user, jar))
        await answers(503, method, template, { ...call, headers: { ...accept, ...call.headers } })
    restarted = await startEmbeddedPostgres({ dataDir: service.dataDir })
  })

  it('every response the document lists was seen, but the unreachable ones named above', () => {
    const missing = documentedResponses().filter((key) => !seen.has(key) && !(key in UNREACHABLE))
    expect(missing).toEqual([])
    // and the exemptions are still documented and still unseen
    for (const key of Object.keys(UNREACHABLE)) {
      expect(documentedResponses(), key).toContain(key)
      expect(seen.has(key), key).toBe(false)
    }
  })
})

/** A real path for a template: its parameters filled in. */
const concretePath = (template: string, username = 'alice') =>
  template
    .replace('{username}', username)
    .replace('{file}', 'style.css')
    .replace('{code}', 'not_found')
    .replace('{passkey}', '1')

/** The routes of `method` that need a session (security without the anonymous `{}`). */
const signedIn = (template: string, method: 'get' | 'post') => {
  const security = (openapi.paths[template]?.[method] as { security?: object[] } | undefined)?.security
  return security !== undefined && !security.some((entry) => Object.keys(entry).length === 0)
}
/** The GET routes that need a session: each is checked the same way. */
const signedInGets = () => Object.keys(openapi.paths).filter((template) => signedIn(template, 'get'))
const credentials = ({ username, password }: { username: string; password: string }) => ({ username, password })
