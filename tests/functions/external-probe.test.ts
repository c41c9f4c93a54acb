// The outside probe's findings at handler level (docs/security.md#external-testing): the Middy
// handlers invoked as Lambda and as the Express adapter invoke them, against the real database.
// Over HTTP: tests/security/external-probe.test.ts.
import { describe, expect, it } from 'vitest'
import type { APIGatewayProxyEventV2 } from 'aws-lambda'
import { handler as loginHandler } from '#functions/login.ts'
import { handler as registerHandler } from '#functions/register.ts'
import { handler as healthHandler } from '#functions/health.ts'
import { lambdaContext } from '../../adapters/express-app.ts'
import { apiGatewayEvent } from '../helpers/events.ts'
import { strongPassword } from '../helpers/factories.ts'
import { header, setCookie, type Result } from '../helpers/handlers.ts'
import { invokeLocal } from '../helpers/events.ts'
import { expectProblem } from '../helpers/expect.ts'
import { useService } from '../helpers/service.ts'

const MAX_FAILURES = 5
const service = useService({
  transport: 'lambda',
  env: { LOGIN_MAX_FAILURES: String(MAX_FAILURES), ALLOWED_HOSTS: 'auth.example.com' },
})
const LOCAL_ORIGIN = 'http://192.168.1.20:8085'

let lastClient = 0
const newClient = () => `192.168.7.${++lastClient}`

/** The name with one letter swapped for what Unicode folding or normalisation maps to it. */
const LOOKALIKES: [string, (name: string) => string][] = [
  ['İ', (name) => name.replace('i', '\u0130')],
  ['ı', (name) => name.replace('i', '\u0131')],
  ['i + U+0307', (name) => name.replace('i', 'i\u0307')],
  ['Kelvin sign', (name) => name.replace('k', '\u212a')],
  ['long s', (name) => name.replace('s', '\u017f')],
  ['fullwidth a', (name) => name.replace('a', '\uff41')],
  ['combining acute', (name) => name.replace('e', 'e\u0301')],
]

async function registered() {
  const username = `alice.ks-${lastClient}${Date.now() % 100000}`
  const password = strongPassword()
  expect(
    (await invokeLocal(registerHandler, { path: '/register', json: { username, password }, sourceIp: newClient() }))
      .statusCode,
  ).toBe(201)
  return { username, password }
}

async function lockedOut() {
  const { username, password } = await registered()
  const attacker = newClient()
  for (let i = 0; i < MAX_FAILURES; i++) {
    const failed = await invokeLocal(loginHandler, {
      path: '/login',
      json: { username, password: `wrong ${i}` },
      sourceIp: attacker,
    })
    expect(failed.statusCode).toBe(401)
  }
  return { username, password, attacker }
}

const signedIn = (result: Result) =>
  result.statusCode === 200 || result.statusCode === 303 || setCookie(result, 'session') !== undefined

describe('POST /login and POST /register with lookalike names', () => {
  it('after 5 failures no lookalike signs in or is counted apart, in JSON or a form; the same name in capitals shares the lockout', async () => {
    const alice = await lockedOut()
    const upper = await invokeLocal(loginHandler, {
      path: '/login',
      json: { ...alice, username: alice.username.toUpperCase() },
      sourceIp: alice.attacker,
    })
    expectProblem(upper, 429, 'rate_limited')
    for (const [label, spell] of LOOKALIKES) {
      const username = spell(alice.username)
      const json = await invokeLocal(loginHandler, {
        path: '/login',
        json: { username, password: alice.password },
        sourceIp: alice.attacker,
      })
      expect(expectProblem(json, 400, 'validation_failed').errors, label).toEqual([
        { field: 'username', message: expect.any(String) },
      ])
      const form = await invokeLocal(loginHandler, {
        path: '/login',
        form: { username, password: alice.password },
        headers: { origin: LOCAL_ORIGIN },
        sourceIp: alice.attacker,
      })
      expect(form.statusCode, `${label} (form)`).toBe(400)
      expect(header(form, 'content-type')).toMatch(/^text\/html/)
      expect(signedIn(json) || signedIn(form), label).toBe(false)
    }
    // the counter that holds is still alice's: nothing above reset or bypassed it
    expectProblem(
      await invokeLocal(loginHandler, { path: '/login', json: alice, sourceIp: alice.attacker }),
      429,
      'rate_limited',
    )
    // and the throttle table holds one per-user counter (this file has a schema of its own), not one per spelling
    const counters = await service.runtime.db.one(
      `SELECT count(*)::int AS n FROM throttle WHERE key LIKE 'login:%'`,
      [],
      (row: { n: number }) => row.n,
    )
    expect(counters).toBe(1)
  })

  it('refuses every lookalike of a taken name at registration with 400 on username, creating no account', async () => {
    const alice = await registered()
    for (const [label, spell] of LOOKALIKES) {
      const username = spell(alice.username)
      const json = await invokeLocal(registerHandler, {
        path: '/register',
        json: { username, password: strongPassword() },
        sourceIp: newClient(),
      })
      expect(
        expectProblem(json, 400, 'validation_failed').errors.map((e: { field: string }) => e.field),
        label,
      ).toEqual(['username'])
      const form = await invokeLocal(registerHandler, {
        path: '/register',
        form: { username, password: strongPassword() },
        headers: { origin: LOCAL_ORIGIN },
        sourceIp: newClient(),
      })
      expect(form.statusCode, `${label} (form)`).toBe(400)
    }
    const like = await service.runtime.db.one(
      'SELECT count(*)::int AS n FROM users WHERE lower(username) LIKE $1',
      ['%ks-%'],
      (row: { n: number }) => row.n,
    )
    expect(like).toBe(2) // the two accounts made by lockedOut, nothing else
  })
})

/** A Lambda invocation whose Host header and API Gateway domain may differ. */
async function invokeLambda(
  handler: typeof healthHandler,
  host: string,
  domainName: string,
  input: Parameters<typeof apiGatewayEvent>[0] = {},
) {
  const event: APIGatewayProxyEventV2 = apiGatewayEvent({ ...input, headers: { ...input.headers, host } })
  event.requestContext.domainName = domainName
  const result = (await handler(event as never, lambdaContext('test') as never)) as Result
  return { ...result, headers: (result.headers ?? {}) as Record<string, string> }
}

describe('Host on Lambda and on a gateway', () => {
  const API = 'abc123.execute-api.eu-west-1.amazonaws.com'

  it('on Lambda answers the API Gateway domain and ALLOWED_HOSTS, and 421 for any other name', async () => {
    expect((await invokeLambda(healthHandler, API, API, { path: '/health' })).statusCode).toBe(200)
    expect(
      (await invokeLambda(healthHandler, 'auth.example.com', 'auth.example.com', { path: '/health' })).statusCode,
    ).toBe(200)
    for (const host of ['evil.example', '127.0.0.1', 'localhost']) {
      const result = await invokeLambda(loginHandler, host, API, {
        path: '/login',
        json: { username: 'alice', password: 'x' },
      })
      expect(expectProblem(result, 421, 'misdirected_request').detail, host).toContain('ALLOWED_HOSTS')
    }
  })

  it('refuses repeated Host headers (joined, as API Gateway and the adapter pass them) with 400', async () => {
    const result = await invokeLambda(loginHandler, `${API},${API}`, API, {
      path: '/login',
      json: { username: 'alice', password: 'x' },
    })
    expect(expectProblem(result, 400, 'validation_failed').detail).toMatch(/exactly one Host header/)
  })

  it('on a gateway answers IP addresses and localhost, and 421 with a page for a browser at another name', async () => {
    expect((await invokeLocal(healthHandler, { path: '/health', host: '10.0.0.9:8085' })).statusCode).toBe(200)
    expect((await invokeLocal(healthHandler, { path: '/health', host: 'localhost' })).statusCode).toBe(200)
    const page = await invokeLocal(loginHandler, {
      path: '/login',
      host: 'rebind.evil.example:8085',
      headers: { accept: 'text/html' },
    })
    expect(page.statusCode).toBe(421)
    expect(header(page, 'content-type')).toMatch(/^text\/html/)
    expect(page.body).toContain('ALLOWED_HOSTS')
    expect(page.body).toContain('rebind.evil.example')
  })
})

describe('Content-Encoding on a request body', () => {
  it('is 415 with Accept-Encoding: identity for anything but identity, in JSON and in a form', async () => {
    const body = { username: 'alice', password: 'whatever it is' }
    const json = await invokeLocal(loginHandler, {
      path: '/login',
      json: body,
      headers: { 'content-encoding': 'gzip' },
    })
    expectProblem(json, 415, 'unsupported_media_type')
    expect(header(json, 'accept-encoding')).toBe('identity')
    const form = await invokeLocal(registerHandler, {
      path: '/register',
      form: body,
      headers: { 'content-encoding': 'br', origin: LOCAL_ORIGIN },
    })
    expect(form.statusCode).toBe(415)
  })
})
