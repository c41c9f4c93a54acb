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
import { spawnService, type ServiceProcess } from '../helpers/service-process.ts'
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
import { client, clientAt, CookieJar, rawRequest, type Call, type Client, type Reply } from '../helpers/http.ts'
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
      env: {
        TRUST_PROXY: 'loopback',
        LOGIN_MAX_FAILURES: '2',
        REGISTRATIONS_PER_HOUR: '3',
      },
    })
    http = client(service.baseUrl)
  })
  afterAll(async () => {
    await service?.stop()
    await restarted?.stop()
  })

  /** Sends `call` to `template` (with `concrete` as the real path) and checks the answer against the document. */
  async function check(method: string, template: string, call: Call & { path?: string } = {}): Promise<Reply> {
    const headers = { ...from(), ...call.headers }
    const reply = await http.call(call.path ?? template, { ...call, method, headers })
    expectConforms(method, template, reply)
    if (reply.status < 400) {
      if (call.json !== undefined && typeof call.json === 'object')
        expectRequestConforms(method, template, 'application/json', call.json)
      if (call.form) expectRequestConforms(method, template, 'application/x-www-form-urlencoded', call.form)
    }
    return reply
  }
  const json = { accept: 'application/json' }
  const html = { accept: 'text/html' }

  /** The body refusals every POST route shares: 413 over 16 KiB, 415 for a media type it does not take. */
  async function expectBodyRefusals(
    template: string,
    unsupported: [body: string, type: string],
    bearer?: string,
    path = template,
  ) {
    const as = bearer ? { bearer, path } : { path }
    const oversized = await check('POST', template, {
      body: OVERSIZED_JSON,
      headers: { 'content-type': 'application/json' },
      ...as,
    })
    expect(oversized.status).toBe(413)
    const [body, type] = unsupported
    expect((await check('POST', template, { body, headers: { 'content-type': type, ...json }, ...as })).status).toBe(
      415,
    )
  }

  async function account(prefix: string) {
    const creds = { username: uniqueUsername(prefix), password: strongPassword() }
    const created = await check('POST', '/register', { json: creds })
    expect(created.status).toBe(201)
    const login = await check('POST', '/login', { json: creds })
    expect(login.status).toBe(200)
    return { ...creds, token: login.json.access_token as string, id: login.json.user.id as string }
  }
  async function browser(creds: { username: string; password: string }) {
    const jar = new CookieJar()
    const reply = await check('POST', '/login', { form: creds, sameOrigin: true, jar })
    expect(reply.status).toBe(303)
    return jar
  }

  it('pages, the service map, health, static files, problem types and this document', async () => {
    for (const template of ['/', '/login']) {
      expect((await check('GET', template, { headers: json })).json).toMatchObject({ openapi: '/openapi.json' })
      expect((await check('GET', template, { headers: html })).contentType).toMatch(/^text\/html/)
    }
    expect((await check('GET', '/register', { headers: html })).status).toBe(200)
    expect((await check('GET', '/health')).json).toEqual({ status: 'ok', database: 'ok' })
    expect((await check('GET', '/static/{file}', { path: '/static/style.css' })).status).toBe(200)
    expect((await check('GET', '/static/{file}', { path: '/static/nothing.css', headers: json })).status).toBe(404)
    for (const code of (openapi.components.schemas as any).ProblemCode.enum as string[]) {
      expect((await check('GET', '/problems/{code}', { path: `/problems/${code}`, headers: json })).json.code).toBe(
        code,
      )
    }
    expect((await check('GET', '/problems/{code}', { path: '/problems/rate_limited', headers: html })).status).toBe(200)
    expect((await check('GET', '/problems/{code}', { path: '/problems/no_such_code', headers: json })).status).toBe(404)
    const served = await check('GET', '/openapi.json', { headers: html })
    expect(served.contentType).toMatch(/^application\/json/)
    expect(served.json).toEqual(openapi)
  })

  it('POST /register: 201, 303, 400, 403, 409, 413, 415, 429', async () => {
    const taken = await account('taken')
    expect(
      (
        await check('POST', '/register', {
          form: { username: uniqueUsername('form'), password: strongPassword() },
          sameOrigin: true,
        })
      ).status,
    ).toBe(303)
    const invalid = await check('POST', '/register', { json: { username: 'a', password: 'short' } })
    expect(invalid.json.errors.map((e: { field: string }) => e.field).sort()).toEqual(['password', 'username'])
    expect(
      (await check('POST', '/register', { form: { username: 'a', password: 'short' }, sameOrigin: true })).status,
    ).toBe(400)
    const foreignForm = await check('POST', '/register', {
      form: { username: uniqueUsername('x'), password: strongPassword() },
      headers: { origin: FOREIGN_ORIGIN },
    })
    expect([foreignForm.status, foreignForm.contentType]).toEqual([403, expect.stringMatching(/^text\/html/)])
    expect(
      (
        await check('POST', '/register', {
          form: { username: uniqueUsername('x'), password: strongPassword() },
          headers: { origin: FOREIGN_ORIGIN, accept: 'application/json' },
        })
      ).status,
    ).toBe(403)
    expect(
      (
        await check('POST', '/register', {
          json: { username: taken.username.toUpperCase(), password: strongPassword() },
        })
      ).json.code,
    ).toBe('username_taken')
    await expectBodyRefusals('/register', ['username=a', 'text/plain'])
    // REGISTRATIONS_PER_HOUR=3 from one address, taken names included
    const one = from('203.0.113.251')
    const statuses = []
    for (let i = 0; i < 4; i++) {
      statuses.push(
        (
          await check('POST', '/register', {
            json: { username: taken.username, password: strongPassword() },
            headers: one,
          })
        ).status,
      )
    }
    expect(statuses).toEqual([409, 409, 409, 429])
  })

  it('POST /login: 200, 303, 400, 401, 403, 413, 415, 429', async () => {
    const user = await account('login')
    await browser(user)
    expect((await check('POST', '/login', { json: { username: user.username } })).status).toBe(400)
    expect((await check('POST', '/login', { form: { username: user.username }, sameOrigin: true })).status).toBe(400)
    expect(
      (await check('POST', '/login', { json: { ...user, password: 'wrong password, long enough' } })).json.code,
    ).toBe('invalid_credentials')
    expect(
      (
        await check('POST', '/login', {
          form: { username: user.username, password: 'wrong password!' },
          sameOrigin: true,
        })
      ).status,
    ).toBe(401)
    expect((await check('POST', '/login', { form: user, headers: { origin: FOREIGN_ORIGIN, ...json } })).status).toBe(
      403,
    )
    await expectBodyRefusals('/login', ['<login/>', 'application/xml'])
    // LOGIN_MAX_FAILURES=2 for one username from one address
    const one = from('203.0.113.252')
    const statuses = []
    for (let i = 0; i < 3; i++) {
      statuses.push(
        (
          await check('POST', '/login', {
            json: { username: user.username, password: 'not the password at all' },
            headers: one,
          })
        ).status,
      )
    }
    expect(statuses).toEqual([401, 401, 429])
    const locked = await check('POST', '/login', {
      form: { username: user.username, password: 'not it' },
      sameOrigin: true,
      headers: one,
    })
    expect(locked.status).toBe(429)
  })

  it('GET /dashboard/{username}: 200, 303, 401 (both codes), 403, 404', async () => {
    const user = await account('dash')
    const other = await account('other')
    const dashboard = await check('GET', '/dashboard/{username}', {
      path: `/dashboard/${user.username}`,
      bearer: user.token,
      headers: json,
    })
    expect(dashboard.json.sessions.filter((s: { current: boolean }) => s.current)).toHaveLength(1)
    const jar = await browser(user)
    expect(
      (await check('GET', '/dashboard/{username}', { path: `/dashboard/${user.username}`, jar, headers: html })).status,
    ).toBe(200)
    expect(
      (await check('GET', '/dashboard/{username}', { path: `/dashboard/${user.username}`, headers: html })).location,
    ).toBe('/')
    expect(
      (await check('GET', '/dashboard/{username}', { path: `/dashboard/${user.username}`, headers: json })).json.code,
    ).toBe('unauthorized')
    const { token: expired } = await createSession(
      service.runtime.db,
      user,
      new Date(Date.now() - 7200_000),
      service.runtime,
    )
    expect(
      (
        await check('GET', '/dashboard/{username}', {
          path: `/dashboard/${user.username}`,
          bearer: expired,
          headers: json,
        })
      ).json.code,
    ).toBe('session_expired')
    expect(
      (
        await check('GET', '/dashboard/{username}', {
          path: `/dashboard/${other.username}`,
          bearer: user.token,
          headers: json,
        })
      ).json.code,
    ).toBe('forbidden')
    expect(
      (await check('GET', '/dashboard/{username}', { path: `/dashboard/${other.username}`, jar, headers: html }))
        .status,
    ).toBe(403)
    // a name no account can have (here with a combining accent) is no dashboard
    const kelvin = `/dashboard/${encodeURIComponent(user.username.replace('a', 'a\u0301'))}`
    expect(
      (await check('GET', '/dashboard/{username}', { path: kelvin, bearer: user.token, headers: json })).json.code,
    ).toBe('not_found')
  })

  it('POST /password: 204, 303, 400, 401, 403, 413, 415, 429', async () => {
    const user = await account('pass')
    const changed = { current_password: user.password, new_password: strongPassword() }
    expect((await check('POST', '/password', { json: changed, bearer: user.token })).status).toBe(204)
    expect((await check('POST', '/password', { json: { current_password: 'wrong' }, bearer: user.token })).status).toBe(
      400,
    )
    expect((await check('POST', '/password', { json: changed })).json.code).toBe('unauthorized')
    await expectBodyRefusals('/password', ['x', 'text/plain'], user.token)
    // a wrong current password counts as a failed sign-in: LOGIN_MAX_FAILURES=2
    const one = from('203.0.113.253')
    const wrong = { current_password: 'a wrong current password', new_password: strongPassword() }
    const statuses = []
    for (let i = 0; i < 3; i++)
      statuses.push((await check('POST', '/password', { json: wrong, bearer: user.token, headers: one })).status)
    expect(statuses).toEqual([400, 400, 429])

    const jar = await browser({ username: user.username, password: changed.new_password })
    const again = { current_password: changed.new_password, new_password: strongPassword() }
    expect(
      (await check('POST', '/password', { form: again, jar, headers: { origin: FOREIGN_ORIGIN, ...json } })).status,
    ).toBe(403)
    expect((await check('POST', '/password', { form: again, jar, sameOrigin: true })).location).toBe(
      `/dashboard/${user.username}`,
    )
    expect((await check('POST', '/password', { form: again, sameOrigin: true })).location).toBe('/')
  })

  it('POST /logout: 204, 303, 400, 403, 413, 415', async () => {
    const user = await account('out')
    expect((await check('POST', '/logout', { json: {}, bearer: user.token })).status).toBe(204)
    expect((await check('POST', '/logout', { json: {} })).status).toBe(204)
    const jar = await browser(user)
    expect(
      (await check('POST', '/logout', { form: {}, jar, headers: { origin: FOREIGN_ORIGIN, ...json } })).status,
    ).toBe(403)
    expect((await check('POST', '/logout', { form: {}, jar, sameOrigin: true })).location).toBe('/')
    expect(
      (await check('POST', '/logout', { body: '{', headers: { 'content-type': 'application/json' } })).status,
    ).toBe(400)
    await expectBodyRefusals('/logout', ['x', 'text/plain'])
  })

  it('POST /sessions/end: 204, 303, 400, 401, 403, 413, 415', async () => {
    const user = await account('end')
    const second = (await check('POST', '/login', { json: { username: user.username, password: user.password } })).json
      .access_token
    const listed = await check('GET', '/dashboard/{username}', {
      path: `/dashboard/${user.username}`,
      bearer: user.token,
      headers: json,
    })
    const handle = listed.json.sessions.find((s: { current: boolean }) => !s.current).id
    expect((await check('POST', '/sessions/end', { json: { session: handle }, bearer: user.token })).status).toBe(204)
    expect(
      (await check('POST', '/sessions/end', { json: { session: handle }, bearer: user.token })).json.errors[0].field,
    ).toBe('session')
    expect((await check('POST', '/sessions/end', { json: { session: 'others' }, bearer: second })).json.code).toBe(
      'unauthorized',
    )
    await expectBodyRefusals('/sessions/end', ['x', 'text/plain'], user.token)
    expect((await check('POST', '/sessions/end', { json: { session: 'others' }, bearer: user.token })).status).toBe(204)
    const jar = await browser(user)
    expect(
      (
        await check('POST', '/sessions/end', {
          form: { session: 'others' },
          jar,
          headers: { origin: FOREIGN_ORIGIN, ...json },
        })
      ).status,
    ).toBe(403)
    expect(
      (await check('POST', '/sessions/end', { form: { session: 'others' }, jar, sameOrigin: true })).location,
    ).toBe(`/dashboard/${user.username}`)
  })

  it('POST /gateway/forwarder/restart: 202, 303, 400, 401, 403, 409, 413, 415, 429', async () => {
    const supervisor = await startFakeSupervisor()
    const savedEnv = process.env
    process.env = { ...savedEnv, ...supervisor.env }
    try {
      const user = await account('restart')
      const restart = (call: Call) => check('POST', '/gateway/forwarder/restart', call)
      const confirmed = { confirm: 'restart' }
      await setUserGroups(service.runtime.db, user.id, [])
      expect((await restart({ json: confirmed, bearer: user.token })).status).toBe(403)
      await setUserGroups(service.runtime.db, user.id, ['admins'])
      const admin = (await check('POST', '/login', { json: { username: user.username, password: user.password } })).json
        .access_token
      expect((await restart({ json: {}, bearer: admin })).status).toBe(400)
      expect((await restart({ json: confirmed })).status).toBe(401)
      await expectBodyRefusals('/gateway/forwarder/restart', ['x', 'text/plain'], admin)
      supervisor.locked = true
      expect((await restart({ json: confirmed, bearer: admin })).json.code).toBe('restart_not_possible')
      supervisor.locked = false
      expect((await restart({ json: confirmed, bearer: admin })).status).toBe(202)
      expect((await restart({ json: confirmed, bearer: admin })).status).toBe(429)
      await service.runtime.db.none("DELETE FROM throttle WHERE key LIKE 'forwarder_restart%'")
      const jar = await browser(user)
      const form = await restart({ form: confirmed, jar, sameOrigin: true, headers: html })
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
    const key = (await check('POST', '/security/totp', totp)).json.totp_key as string
    const confirm = (code: string, password = user.password) => ({
      json: { code, current_password: password },
      bearer: user.token,
    })
    expect((await check('POST', '/security/totp/confirm', confirm('000000', 'not the password'))).status).toBe(400)
    const confirmed = await check('POST', '/security/totp/confirm', confirm(totpCode(key, Date.now())))
    const codes = confirmed.json.recovery_codes as string[]
    expect((await check('POST', '/security/totp', totp)).json.code).toBe('second_factor_exists')
    expect((await check('POST', '/security/totp/confirm', confirm('000000'))).status).toBe(409)

    const pending = (await check('POST', '/login', { json: user, headers: me })).json.second_factor.pending as string
    const second = { pending, code: totpCode(key, Date.now() + 30_000) }
    expect((await check('POST', '/login/second-factor', { json: second, headers: me })).status).toBe(200)
    expect((await check('POST', '/login/second-factor', { json: second, headers: me })).status).toBe(401)
    expect((await check('POST', '/login/second-factor', { json: {} })).status).toBe(400)
    await expectBodyRefusals('/login/second-factor', ['x', 'text/plain'])
    const jar = new CookieJar()
    expect((await check('POST', '/login', { form: user, sameOrigin: true, jar, headers: me })).status).toBe(303)
    expect((await check('GET', '/login/second-factor', { jar, headers: { ...html, ...me } })).status).toBe(200)
    expect((await check('GET', '/login/second-factor', { headers: html })).status).toBe(303)
    expect((await check('GET', '/login/second-factor', { headers: json })).status).toBe(401)
    const foreign = { origin: FOREIGN_ORIGIN, ...json, ...me }
    const recovery = { code: codes[0]! }
    expect((await check('POST', '/login/second-factor', { form: recovery, jar, headers: foreign })).status).toBe(403)
    expect(
      (await check('POST', '/login/second-factor', { form: recovery, jar, sameOrigin: true, headers: me })).status,
    ).toBe(303)
    // LOGIN_MAX_FAILURES=2 wrong codes for one account from one address
    const one = from('203.0.113.254')
    const again = (await check('POST', '/login', { json: user, headers: one })).json.second_factor.pending
    const statuses = []
    for (let i = 0; i < 3; i++) {
      const guess = { json: { pending: again, code: 'wrong-code-0000' }, headers: one }
      statuses.push((await check('POST', '/login/second-factor', guess)).status)
    }
    expect(statuses).toEqual([401, 401, 429])

    // the forms that change the factors: 200/204 and 303, 400, 401, 403, 413, 415, 429
    const password = { current_password: user.password }
    const other = await account('nofactor')
    const otherJar = await browser(other)
    expect((await check('POST', '/security/totp', { form: {}, jar: otherJar, sameOrigin: true })).status).toBe(303)
    expect((await check('GET', '/security', { jar: otherJar, headers: html })).status).toBe(200)
    expect((await check('GET', '/security', { headers: html })).status).toBe(303)
    const asOther = { json: { current_password: other.password }, bearer: other.token }
    expect((await check('POST', '/security/recovery-codes', asOther)).json.code).toBe('forbidden')
    const sessionJar = new CookieJar()
    await check('POST', '/login', { form: user, sameOrigin: true, jar: sessionJar, headers: me })
    await check('POST', '/login/second-factor', {
      form: { code: codes[1]! },
      jar: sessionJar,
      sameOrigin: true,
      headers: me,
    })
    for (const path of [
      '/security/totp',
      '/security/totp/confirm',
      '/security/totp/remove',
      '/security/recovery-codes',
    ]) {
      expect((await check('POST', path, { json: password })).status, path).toBe(401)
      expect((await check('POST', path, { form: password, jar: sessionJar, headers: foreign })).status, path).toBe(403)
      const form = path === '/security/totp' ? {} : path.endsWith('confirm') ? { ...password, code: '1' } : password
      expect((await check('POST', path, { form, sameOrigin: true })).status, path).toBe(303)
      expect((await check('POST', path, { body: '{', headers: { 'content-type': 'application/json' } })).status).toBe(
        400,
      )
      await expectBodyRefusals(path, ['x', 'text/plain'], other.token)
    }
    const wrongPassword = { json: { code: '000000', current_password: 'not the password' }, bearer: other.token }
    for (const path of ['/security/totp/confirm', '/security/totp/remove', '/security/recovery-codes']) {
      const wrong = []
      for (let i = 0; i < 3; i++) wrong.push((await check('POST', path, { ...wrongPassword, headers: from() })).status)
      expect(wrong, path).toContain(400)
    }
    const locked = []
    for (let i = 0; i < 3; i++) {
      locked.push((await check('POST', '/security/totp/remove', { ...wrongPassword, headers: one })).status)
      locked.push((await check('POST', '/security/totp/confirm', { ...wrongPassword, headers: one })).status)
      locked.push((await check('POST', '/security/recovery-codes', { ...wrongPassword, headers: one })).status)
    }
    expect(locked).toContain(429)
    const fresh = { form: password, jar: sessionJar, sameOrigin: true }
    expect((await check('POST', '/security/recovery-codes', fresh)).status).toBe(200)
    // the recovery codes ended the other sessions (user.token among them): the jar's is the one left
    const asJson = { json: password, jar: sessionJar, sameOrigin: true }
    expect((await check('POST', '/security/recovery-codes', asJson)).status).toBe(200)
    expect((await check('POST', '/security/totp/remove', asJson)).status).toBe(204)
    expect(
      (
        await check('POST', '/security/totp/remove', {
          form: { current_password: other.password },
          jar: otherJar,
          sameOrigin: true,
        })
      ).status,
    ).toBe(303)
  })

  it('the passkeys: /security/passkeys/* and /login/second-factor/passkey*, each answer they document', async () => {
    const user = await account('keys')
    // passkeys need a name: the ceremonies run at http://localhost:<port>, a secure context
    const local = `localhost:${new URL(service.baseUrl).port}`
    const localOrigin = `http://${local}`
    const atLocalhost = clientAt(service.baseUrl, local)
    const checkLocal = async (method: string, template: string, call: Call & { path?: string }) => {
      const headers = { ...from(), ...call.headers }
      const reply = await atLocalhost.call(call.path ?? template, { ...call, method, headers })
      expectConforms(method, template, reply)
      return reply
    }
    // a pending sign-in answers only the address it was given to
    const me = from('203.0.113.241')
    const name = { name: 'Key' }
    const addPasskey = async () => {
      const options = await checkLocal('POST', '/security/passkeys/options', { json: name, bearer: user.token })
      expect(options.status).toBe(200)
      const { credential, answer } = createCredential(options.json.options, { origin: localOrigin })
      const json = { ...name, response: answer }
      const added = await checkLocal('POST', '/security/passkeys', { json, bearer: user.token })
      expect(added.status).toBe(201)
      return { credential, answer, id: added.json.passkey.id as string }
    }
    expect((await check('POST', '/security/passkeys/options', { json: name, bearer: user.token })).status).toBe(403)
    expect((await check('POST', '/security/passkeys/options', { json: { name: '' }, bearer: user.token })).status).toBe(
      400,
    )
    const first = await addPasskey()
    const again = { json: { ...name, response: first.answer }, bearer: user.token }
    expect((await check('POST', '/security/passkeys', again)).json.code).toBe('passkey_rejected')

    // the second step with it, JSON: 200, then the used pending sign-in 401; 400, 403
    const signInOptions = async (pending: string, headers = me) =>
      checkLocal('POST', '/login/second-factor/passkey/options', { json: { pending }, headers })
    const pendingFor = async (headers = me) =>
      (await check('POST', '/login', { json: user, headers })).json.second_factor.pending as string
    let pending = await pendingFor()
    const answer = async (origin = localOrigin, headers = me) =>
      getAssertion(first.credential, (await signInOptions(pending, headers)).json.options, { origin })
    const signIn = { json: { pending, response: await answer() }, headers: me }
    expect((await checkLocal('POST', '/login/second-factor/passkey', signIn)).status).toBe(200)
    expect((await checkLocal('POST', '/login/second-factor/passkey', signIn)).status).toBe(401)
    expect((await checkLocal('POST', '/login/second-factor/passkey/options', { json: {}, headers: me })).status).toBe(
      401,
    )
    expect((await checkLocal('POST', '/login/second-factor/passkey', { json: {}, headers: me })).status).toBe(400)
    const notAHandle = { json: { pending: 5 }, headers: me }
    expect((await checkLocal('POST', '/login/second-factor/passkey/options', notAHandle)).status).toBe(400)
    pending = await pendingFor()
    const atAddress = { json: { pending }, headers: me }
    expect((await check('POST', '/login/second-factor/passkey/options', atAddress)).status).toBe(403)
    // a refused answer counts like a wrong code: LOGIN_MAX_FAILURES=2
    const one = from('203.0.113.242')
    const statuses = []
    for (let i = 0; i < 3; i++) {
      pending = await pendingFor(one)
      const refused = { json: { pending, response: await answer('http://evil.example', one) }, headers: one }
      statuses.push((await checkLocal('POST', '/login/second-factor/passkey', refused)).status)
    }
    expect(statuses).toEqual([400, 400, 429])

    // a second passkey (which ends the other sessions) before the browser signs in
    const second = await addPasskey()
    // the same in a browser at localhost: the pages, and the 303 that signs in
    const jar = new CookieJar()
    const localOwn = { jar, headers: { origin: localOrigin, ...me } }
    expect((await checkLocal('POST', '/login', { form: user, ...localOwn })).location).toBe('/login/second-factor')
    const page = await checkLocal('POST', '/login/second-factor/passkey/options', { form: {}, ...localOwn })
    const pageOptions = JSON.parse(/data-options="([^"]*)"/.exec(page.text)![1]!.replaceAll('&quot;', '"'))
    const fromPage = getAssertion(first.credential, pageOptions, { origin: localOrigin })
    const signedIn = await checkLocal('POST', '/login/second-factor/passkey', {
      form: { response: JSON.stringify(fromPage) },
      ...localOwn,
    })
    expect(signedIn.status).toBe(303)
    expect((await check('POST', '/login/second-factor/passkey/options', { form: {}, sameOrigin: true })).status).toBe(
      303,
    )

    // rename and remove: 204, 303, 400, 404, 429
    const renameAt = (id: string, call: Call) =>
      check('POST', '/security/passkeys/{passkey}/name', { path: `/security/passkeys/${id}/name`, ...call })
    const removeAt = (id: string, call: Call) =>
      check('POST', '/security/passkeys/{passkey}/remove', { path: `/security/passkeys/${id}/remove`, ...call })
    expect((await renameAt(first.id, { json: { name: 'Blue' }, bearer: user.token })).status).toBe(204)
    expect((await renameAt(first.id, { json: { name: '' }, bearer: user.token })).status).toBe(400)
    expect((await renameAt('999999', { json: name, bearer: user.token })).status).toBe(404)
    const password = { current_password: user.password }
    expect((await removeAt('999999', { json: password, bearer: user.token })).status).toBe(404)
    const wrong = { current_password: 'a wrong current password' }
    const locked = []
    for (let i = 0; i < 3; i++)
      locked.push((await removeAt(first.id, { json: wrong, bearer: user.token, headers: one })).status)
    expect(locked).toEqual([400, 400, 429])

    // without a session 401 (a form: 303 to /), from another site 403, and the body's 413, 415
    const foreign = { jar, headers: { origin: FOREIGN_ORIGIN, ...json } }
    for (const [template, path, body] of [
      ['/security/passkeys/options', '/security/passkeys/options', name],
      ['/security/passkeys', '/security/passkeys', { ...name, response: '{}' }],
      ['/security/passkeys/{passkey}/name', `/security/passkeys/${first.id}/name`, name],
      ['/security/passkeys/{passkey}/remove', `/security/passkeys/${first.id}/remove`, password],
      ['/login/second-factor/passkey/options', '/login/second-factor/passkey/options', {}],
      ['/login/second-factor/passkey', '/login/second-factor/passkey', { response: '{}' }],
    ] as const) {
      if (template.startsWith('/security')) {
        expect((await check('POST', template, { path, json: body })).json.code, template).toBe('unauthorized')
        expect((await check('POST', template, { path, form: body, sameOrigin: true })).location, template).toBe('/')
      }
      expect((await check('POST', template, { path, form: body, ...foreign })).status, template).toBe(403)
      await expectBodyRefusals(template, ['x', 'text/plain'], user.token, path)
    }
    expect((await check('GET', '/security/passkeys', { headers: html })).location).toBe('/')

    // the browser's session (a form: 303 to /security), the last removal from JSON with its cookie
    const formAt = (template: string, path: string, form: Record<string, string>) =>
      checkLocal('POST', template, { path, form, ...localOwn })
    const renamed = await formAt('/security/passkeys/{passkey}/name', `/security/passkeys/${first.id}/name`, name)
    expect(renamed.location).toBe('/security')
    const removed = await formAt(
      '/security/passkeys/{passkey}/remove',
      `/security/passkeys/${second.id}/remove`,
      password,
    )
    expect(removed.location).toBe('/security')
    const lastOne = await checkLocal('POST', '/security/passkeys/{passkey}/remove', {
      path: `/security/passkeys/${first.id}/remove`,
      json: password,
      ...localOwn,
    })
    expect(lastOne.status).toBe(204)
  })

  it('every signed-in GET route: 200 with a session, 401 without one', async () => {
    const user = await account('reader')
    for (const template of signedInGets()) {
      const path = concretePath(template, user.username)
      expect((await check('GET', template, { path, bearer: user.token, headers: json })).status, template).toBe(200)
      expect((await check('GET', template, { path, headers: json })).status, template).toBe(401)
    }
  })

  it("any other path: 404 not_found; a documented path with another method: 405 with the document's methods in Allow", async () => {
    const missing = await http.call('/no/such/route', { headers: json })
    expect(missing.status).toBe(404)
    expectConformsToComponent('NotFound', missing, 'GET /no/such/route')
    expectConformsToComponent(
      'NotFound',
      await http.call('/no/such/route', { headers: html }),
      'GET /no/such/route (HTML)',
    )

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
      expect((await check('GET', template, { headers: json })).status).toBe(400)
      for (const accept of [json, html]) {
        expect((await check('GET', template, { headers: { ...accept, ...headers } })).status).toBe(403)
      }
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
        const headers = new Headers()
        for (const [name, value] of Object.entries(raw.headers)) {
          for (const one of [value ?? []].flat()) headers.append(name, one)
        }
        const reply = { status: raw.status, headers, contentType: headers.get('content-type') ?? '', text: raw.text }
        expect(reply.status, `${method} ${template}`).toBe(421)
        expectConforms(method, template, reply)
      }
    }
  })

  it('a failing query: 500 internal_error on every route that reads the database', async () => {
    const user = await account('broken')
    const jar = await browser(user)
    // a real failure of a real query: the users table is not where the service looks for it
    await service.runtime.db.none('ALTER TABLE users RENAME TO users_moved_away')
    try {
      const creds = { username: uniqueUsername('late'), password: strongPassword() }
      for (const accept of [json, html]) {
        const expect500 = async (method: string, template: string, call: Call & { path?: string }) =>
          expect((await check(method, template, { ...call, headers: { ...accept, ...call.headers } })).status).toBe(500)
        await expect500('POST', '/register', { json: creds })
        await expect500('POST', '/login', { json: creds })
        for (const template of signedInGets()) {
          await expect500('GET', template, { path: concretePath(template, user.username), bearer: user.token })
        }
        await expect500('POST', '/password', {
          json: { current_password: user.password, new_password: strongPassword() },
          bearer: user.token,
        })
        await expect500('POST', '/logout', { json: {}, bearer: user.token })
        await expect500('POST', '/sessions/end', { form: { session: 'others' }, jar, sameOrigin: true })
        await expect500('POST', '/gateway/forwarder/restart', { json: { confirm: 'restart' }, bearer: user.token })
        await expect500('GET', '/login/second-factor', { headers: { cookie: `pending_sign_in=${'A'.repeat(43)}` } })
        await expect500('POST', '/login/second-factor', { json: { pending: 'A'.repeat(43), code: '123456' } })
        for (const path of ['/security/totp', '/security/totp/confirm', '/security/totp/remove']) {
          await expect500('POST', path, { json: { current_password: user.password, code: '1' }, bearer: user.token })
        }
        await expect500('POST', '/security/recovery-codes', { json: { current_password: 'x' }, bearer: user.token })
        for (const [template, body] of PASSKEY_POSTS) {
          await expect500('POST', template, { path: concretePath(template), json: body, bearer: user.token })
        }
        await expect500('GET', '/auth/verify', { jar })
        await expect500('GET', '/auth/nginx', { jar })
      }
    } finally {
      await service.runtime.db.none('ALTER TABLE users_moved_away RENAME TO users')
    }
    expect(
      (await check('GET', '/dashboard/{username}', { path: `/dashboard/${user.username}`, bearer: user.token })).status,
    ).toBe(200)
  })

  it('the database gone: 503 service_unavailable with Retry-After on every route that needs it; /health 503', async () => {
    const user = await account('down')
    const pidFile = path.join(service.dataDir, 'postgres', 'postmaster.pid')
    const pid = Number((await readFile(pidFile, 'utf8')).split('\n')[0])
    process.kill(pid, 'SIGINT')
    for (let i = 0; i < 200 && isAlive(pid); i++) await sleep(50)
    expect(isAlive(pid)).toBe(false)

    expect((await check('GET', '/health')).json).toEqual({ status: 'unavailable', database: 'unavailable' })
    const creds = { username: uniqueUsername('gone'), password: strongPassword() }
    for (const accept of [json, html]) {
      const expect503 = async (method: string, template: string, call: Call & { path?: string }) =>
        expect((await check(method, template, { ...call, headers: { ...accept, ...call.headers } })).status).toBe(503)
      await expect503('POST', '/register', { json: creds })
      await expect503('POST', '/login', { json: creds })
      for (const template of signedInGets()) {
        await expect503('GET', template, { path: concretePath(template, user.username), bearer: user.token })
      }
      await expect503('POST', '/password', {
        json: { current_password: user.password, new_password: strongPassword() },
        bearer: user.token,
      })
      await expect503('POST', '/logout', { json: {}, bearer: user.token })
      await expect503('POST', '/sessions/end', { json: { session: 'others' }, bearer: user.token })
      await expect503('POST', '/gateway/forwarder/restart', { json: { confirm: 'restart' }, bearer: user.token })
      await expect503('GET', '/login/second-factor', { headers: { cookie: `pending_sign_in=${'A'.repeat(43)}` } })
      await expect503('POST', '/login/second-factor', { json: { pending: 'A'.repeat(43), code: '123456' } })
      for (const path of ['/security/totp', '/security/totp/confirm', '/security/totp/remove']) {
        await expect503('POST', path, { json: { current_password: user.password, code: '1' }, bearer: user.token })
      }
      await expect503('POST', '/security/recovery-codes', { json: { current_password: 'x' }, bearer: user.token })
      for (const [template, body] of PASSKEY_POSTS) {
        await expect503('POST', template, { path: concretePath(template), json: body, bearer: user.token })
      }
      await expect503('GET', '/auth/verify', { bearer: user.token })
      await expect503('GET', '/auth/nginx', { bearer: user.token })
    }
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

/** The GET routes that need a session (security without the anonymous `{}`): each is checked the same way. */
const signedInGets = () =>
  Object.entries(openapi.paths)
    .filter(([, item]) => {
      const security = (item.get as { security?: object[] } | undefined)?.security
      return security !== undefined && !security.some((entry) => Object.keys(entry).length === 0)
    })
    .map(([template]) => template)

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}
