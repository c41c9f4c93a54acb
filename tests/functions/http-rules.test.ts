// The contract's rules that hold for every route: body limits and types, problem details,
// the cross-origin guard and the headers on every HTML response.
import { beforeAll, describe, expect, it } from 'vitest'
import { handler as registerHandler } from '#functions/register.ts'
import { handler as loginHandler } from '#functions/login.ts'
import { handler as logoutHandler } from '#functions/logout.ts'
import { handler as passwordHandler } from '#functions/password.ts'
import { handler as dashboardHandler } from '#functions/dashboard.ts'
import { handler as indexHandler } from '#functions/index.ts'
import { handler as notFoundHandler } from '#functions/not-found.ts'
import { lambdaContext } from '../../adapters/express-app.ts'
import { apiGatewayEvent, invoke, jsonBody, type EventInput } from '../helpers/events.ts'
import { strongPassword, uniqueUsername } from '../helpers/factories.ts'
import { findUserByUsername } from '#lib/auth/users.ts'
import { bearer, header, HTML, OWN_ORIGIN, signedInUser, type Result } from '../helpers/handlers.ts'
import { expectProblem, expectNoSecrets } from '../helpers/expect.ts'
import { withoutOwnScript } from '../helpers/page-script.ts'
import { useService } from '../helpers/service.ts'
import { invokeLocal } from '../helpers/events.ts'

const service = useService({ transport: 'lambda' })
const KIB_16 = 16 * 1024

let user: Awaited<ReturnType<typeof signedInUser>>
beforeAll(async () => {
  user = await signedInUser()
})

/** A JSON object body of exactly `bytes` bytes in UTF-8. */
function jsonOfSize(bytes: number): string {
  const shell = JSON.stringify({ username: 'someone', padding: '' })
  return JSON.stringify({ username: 'someone', padding: 'x'.repeat(bytes - Buffer.byteLength(shell)) })
}

async function invokeBase64(input: EventInput, raw: Buffer): Promise<Result> {
  const event = apiGatewayEvent(input)
  event.body = raw.toString('base64')
  event.isBase64Encoded = true
  const result = (await loginHandler(event as never, lambdaContext('test') as never)) as Result
  return { ...result, headers: (result.headers ?? {}) as Record<string, string> }
}

describe('request bodies', () => {
  it.each([
    ['a JSON body over 16 KiB', { json: jsonOfSize(KIB_16 + 1) }],
    [
      'a form body over 16 KiB',
      {
        body: `username=${'x'.repeat(KIB_16)}`,
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          origin: OWN_ORIGIN,
          accept: 'application/json',
        },
      },
    ],
    [
      'a body under 16 KiB in characters but over it in UTF-8 bytes',
      { json: JSON.stringify({ username: '🔑'.repeat(4200) }) },
    ],
    [
      'a declared Content-Length over 16 KiB',
      { json: { username: 'someone' }, headers: { 'content-length': String(KIB_16 + 1) } },
    ],
    [
      'a text/plain body over 16 KiB',
      { body: 'x'.repeat(KIB_16 + 1), headers: { 'content-type': 'text/plain', accept: 'application/json' } },
    ],
  ] as [string, EventInput][])('refuses %s with 413 payload_too_large', async (_, input) => {
    const result = await invoke(loginHandler, { path: '/login', ...input })
    if (input.headers?.['content-type']?.startsWith('application/x-www-form')) {
      // a form is answered in HTML, with the same status
      expect(result.statusCode).toBe(413)
      expect(header(result, 'content-type')).toMatch(/^text\/html/)
    } else {
      expectProblem(result, 413, 'payload_too_large')
    }
  })

  it('accepts a JSON body of exactly 16 KiB (and judges its fields instead)', async () => {
    const body = jsonOfSize(KIB_16)
    expect(Buffer.byteLength(body)).toBe(KIB_16)
    const result = await invoke(loginHandler, { path: '/login', json: body })
    const problem = expectProblem(result, 400, 'validation_failed')
    expect(problem.errors.map((e: { field: string }) => e.field)).toEqual(['password'])
  })

  it('measures a base64-encoded body by its decoded size', async () => {
    const ok = Buffer.from(JSON.stringify({ username: 'someone', password: 'p'.repeat(40), pad: 'x'.repeat(13_000) }))
    expect(ok.length).toBeLessThan(KIB_16)
    expect(ok.toString('base64').length).toBeGreaterThan(KIB_16)
    expectProblem(await invokeBase64({ path: '/login', json: {} }, ok), 401, 'invalid_credentials')
    const big = Buffer.from(jsonOfSize(KIB_16 + 1))
    expectProblem(await invokeBase64({ path: '/login', json: {} }, big), 413, 'payload_too_large')
  })

  it.each([
    ['text/plain', 'username=a&password=b'],
    ['application/xml', '<login><username>a</username></login>'],
    ['multipart/form-data; boundary=x', '--x\r\nContent-Disposition: form-data; name="username"\r\n\r\na\r\n--x--'],
    ['application/jsonp', '{"username":"a"}'],
  ])('refuses a %s body with 415 unsupported_media_type', async (contentType, body) => {
    const result = await invoke(loginHandler, {
      path: '/login',
      body,
      headers: { 'content-type': contentType, accept: 'application/json' },
    })
    expectProblem(result, 415, 'unsupported_media_type')
  })

  it('refuses a body without a Content-Type with 415', async () => {
    const result = await invoke(loginHandler, {
      path: '/login',
      body: '{"username":"a","password":"b"}',
      headers: { accept: 'application/json' },
    })
    expectProblem(result, 415, 'unsupported_media_type')
  })

  it('judges a body sent with a GET as any other (the contract’s 415 and 400), and a POST’s before not-found’s 404', async () => {
    // a GET-only route runs its body steps only when a body came: one that did is refused like a POST's
    const get = (body: string, type: string) =>
      invoke(dashboardHandler, {
        path: `/dashboard/${user.username}`,
        pathParameters: { username: user.username },
        body,
        headers: { 'content-type': type, accept: 'application/json', ...bearer(user.token) },
      })
    expectProblem(await get('[1]', 'text/plain'), 415, 'unsupported_media_type')
    expectProblem(await get('[1]', 'application/json'), 400, 'validation_failed')
    expect((await get('', 'application/json')).statusCode).toBe(200)
    // not-found answers every method, so it keeps them: an unknown path's POST is refused for its body
    const posted = await invoke(notFoundHandler, {
      method: 'POST',
      path: '/nope',
      body: 'x',
      headers: { 'content-type': 'text/plain', accept: 'application/json' },
    })
    expectProblem(posted, 415, 'unsupported_media_type')
  })

  it.each([
    ['malformed JSON', '{"username": "a", '],
    ['a JSON array', '[{"username":"a","password":"b"}]'],
    ['a JSON number', '42'],
    ['a JSON string', '"username"'],
    ['JSON null', 'null'],
    ['JSON true', 'true'],
    ['a __proto__ key', '{"__proto__": {"isAdmin": true}, "username": "a", "password": "b"}'],
    ['a body that is only whitespace', '   '],
  ])('refuses %s with 400 validation_failed, never a 500', async (_, json) => {
    const result = await invoke(registerHandler, { path: '/register', json })
    expectProblem(result, 400, 'validation_failed')
    expect(result.body).not.toMatch(/SyntaxError|at JSON\.parse|stack/i)
  })

  it.each(['__proto__', 'constructor'])('names a forbidden %s key as such, not as broken JSON', async (key) => {
    const json = `{"${key}": {"prototype": {"isAdmin": true}}, "username": "a", "password": "b"}`
    const result = await invoke(registerHandler, { path: '/register', json })
    const body = expectProblem(result, 400, 'validation_failed')
    expect(body.detail).toBe(`The JSON key "${key}" is not accepted.`)
  })

  it.each([
    ['application/json; charset=utf-8'],
    ['application/json;charset=UTF-8'],
    ['Application/JSON'],
    ['application/json ; charset=utf-8'],
    ['application/merge-patch+json'],
  ])('parses a JSON body sent as %s', async (contentType) => {
    const username = uniqueUsername()
    const result = await invoke(registerHandler, {
      path: '/register',
      body: JSON.stringify({ username, password: strongPassword() }),
      headers: { 'content-type': contentType },
    })
    expect(result.statusCode).toBe(201)
    expect(jsonBody(result).user.username).toBe(username)
  })

  it.each([
    ['application/x-www-form-urlencoded; charset=UTF-8'],
    ['application/x-www-form-urlencoded ; charset=UTF-8'],
  ])('parses a form body sent as %s', async (contentType) => {
    const username = uniqueUsername()
    const result = await invoke(registerHandler, {
      path: '/register',
      body: new URLSearchParams({ username, password: strongPassword() }).toString(),
      headers: { 'content-type': contentType, origin: OWN_ORIGIN },
    })
    expect(result.statusCode).toBe(303)
    expect(await findUserByUsername(service.runtime.db, username)).not.toBeNull()
  })
})

describe('problem details', () => {
  it.each([
    ['validation_failed', () => invoke(registerHandler, { path: '/register', json: {} }), 400],
    [
      'invalid_credentials',
      () => invoke(loginHandler, { path: '/login', json: { username: 'nobody-here', password: 'x' } }),
      401,
    ],
    ['unauthorized', () => invoke(passwordHandler, { path: '/password', json: {} }), 401],
    ['not_found', () => invoke(notFoundHandler, { path: '/nope', headers: { accept: 'application/json' } }), 404],
    [
      'method_not_allowed',
      () => invoke(notFoundHandler, { method: 'DELETE', path: '/login', headers: { accept: 'application/json' } }),
      405,
    ],
    [
      'unsupported_media_type',
      () =>
        invoke(loginHandler, {
          path: '/login',
          body: 'x',
          headers: { 'content-type': 'text/plain', accept: 'application/json' },
        }),
      415,
    ],
  ] as const)(
    'answer %s as application/problem+json with type, title, status, detail and code',
    async (code, run, status) => {
      const result = await run()
      const body = expectProblem(result, status, code)
      expect(body.type).toBe(`/problems/${code}`)
      expect(body.detail).toEqual(expect.any(String))
      expect(header(result, 'cache-control')).toBe('no-store')
    },
  )
})

describe('cross-origin POSTs', () => {
  const evil = 'https://evil.example'

  it.each([
    [
      'a form from another Origin',
      () => ({
        form: { username: uniqueUsername(), password: strongPassword() },
        headers: { origin: evil, accept: 'application/json' },
      }),
    ],
    [
      'a form with Origin: null',
      () => ({ form: { username: uniqueUsername(), password: strongPassword() }, headers: { origin: 'null' } }),
    ],
    [
      'a form marked Sec-Fetch-Site: cross-site',
      () => ({
        form: { username: uniqueUsername(), password: strongPassword() },
        headers: { 'sec-fetch-site': 'cross-site' },
      }),
    ],
    [
      'JSON carrying a session cookie from another Origin',
      () => ({
        json: { username: uniqueUsername(), password: strongPassword() },
        cookies: [`__Host-session=${user.token}`],
        headers: { origin: evil },
      }),
    ],
    [
      'JSON carrying a session cookie marked cross-site',
      () => ({
        json: { username: uniqueUsername(), password: strongPassword() },
        headers: { cookie: `session=${user.token}`, 'sec-fetch-site': 'cross-site' },
      }),
    ],
    [
      'a text/plain body from another Origin',
      () => ({ body: 'username=a', headers: { 'content-type': 'text/plain', origin: evil } }),
    ],
    [
      'a form from the http:// twin of the HTTPS origin',
      () => ({
        form: { username: uniqueUsername(), password: strongPassword() },
        headers: { origin: OWN_ORIGIN.replace('https:', 'http:') },
      }),
    ],
  ] as [string, () => EventInput][])('refuses %s with 403 cross_origin_rejected and does nothing', async (_, build) => {
    const input = build()
    const result = await invoke(registerHandler, { path: '/register', ...input })
    expect(result.statusCode).toBe(403)
    if (header(result, 'content-type') === 'application/problem+json')
      expectProblem(result, 403, 'cross_origin_rejected')
    else expect(result.body).toMatch(/Cross-origin request rejected/)
    const username = (input.form?.username ?? (input.json as { username?: string } | undefined)?.username) as
      | string
      | undefined
    if (username) expect(await findUserByUsername(service.runtime.db, username)).toBeNull()
    expectNoSecrets(result, [user.token])
  })

  it('answers a cross-origin JSON request with a cookie in problem JSON', async () => {
    const result = await invoke(passwordHandler, {
      path: '/password',
      json: { current_password: user.password, new_password: strongPassword() },
      cookies: [`__Host-session=${user.token}`],
      headers: { origin: evil },
    })
    expectProblem(result, 403, 'cross_origin_rejected')
  })

  it('refuses a cross-site logout form, leaving the session alive', async () => {
    const result = await invoke(logoutHandler, {
      path: '/logout',
      form: {},
      cookies: [`__Host-session=${user.token}`],
      headers: { origin: evil },
    })
    expect(result.statusCode).toBe(403)
    const check = await invoke(dashboardHandler, {
      path: `/dashboard/${user.username}`,
      pathParameters: { username: user.username },
      headers: { accept: 'application/json', ...bearer(user.token) },
    })
    expect(check.statusCode).toBe(200)
  })

  it('lets a same-origin form through (Origin https://<host>, Sec-Fetch-Site same-origin)', async () => {
    const username = uniqueUsername()
    const result = await invoke(registerHandler, {
      path: '/register',
      form: { username, password: strongPassword() },
      headers: { origin: OWN_ORIGIN, 'sec-fetch-site': 'same-origin' },
    })
    expect(result.statusCode).toBe(303)
    expect(await findUserByUsername(service.runtime.db, username)).not.toBeNull()
  })

  it('lets a same-origin form through over plain HTTP on the LAN (Origin http://<host>)', async () => {
    const username = uniqueUsername()
    const result = await invokeLocal(registerHandler, {
      path: '/register',
      form: { username, password: strongPassword() },
      host: '192.168.1.20:8085',
      headers: { origin: 'http://192.168.1.20:8085' },
    })
    expect(result.statusCode).toBe(303)
  })

  it('refuses a cross-origin form over plain HTTP on the LAN', async () => {
    const result = await invokeLocal(registerHandler, {
      path: '/register',
      form: { username: uniqueUsername(), password: strongPassword() },
      host: '192.168.1.20:8085',
      headers: { origin: 'http://192.168.1.21:8085', accept: 'application/json' },
    })
    expect(result.statusCode).toBe(403)
  })

  it('lets an API client post JSON without cookies from anywhere', async () => {
    const result = await invoke(loginHandler, {
      path: '/login',
      json: { username: user.username, password: user.password },
      headers: { origin: evil },
    })
    expect(result.statusCode).toBe(200)
  })
})

describe('HTML responses', () => {
  const pages: [string, () => Promise<Result>][] = [
    ['the login page at /', () => invoke(indexHandler, { path: '/', headers: HTML })],
    ['the login page at /login', () => invoke(loginHandler, { path: '/login', headers: HTML })],
    ['the register page', () => invoke(registerHandler, { path: '/register', headers: HTML })],
    [
      'a register form error',
      () =>
        invoke(registerHandler, {
          path: '/register',
          form: { username: 'x', password: 'y' },
          headers: { origin: OWN_ORIGIN },
        }),
    ],
    [
      'a failed sign-in',
      () =>
        invoke(loginHandler, {
          path: '/login',
          form: { username: 'nobody-here', password: 'y' },
          headers: { origin: OWN_ORIGIN },
        }),
    ],
    [
      'the dashboard',
      () =>
        invoke(dashboardHandler, {
          path: `/dashboard/${user.username}`,
          pathParameters: { username: user.username },
          headers: HTML,
          cookies: [`__Host-session=${user.token}`],
        }),
    ],
    ['a 404 page', () => invoke(notFoundHandler, { path: '/nope', headers: HTML })],
    [
      'a cross-origin refusal',
      () =>
        invoke(registerHandler, {
          path: '/register',
          form: { username: 'x' },
          headers: { origin: 'https://evil.example' },
        }),
    ],
    [
      'a 413 page',
      () =>
        invoke(registerHandler, {
          path: '/register',
          form: { username: 'x'.repeat(KIB_16) },
          headers: { origin: OWN_ORIGIN },
        }),
    ],
  ]

  it.each(pages)('%s carries the CSP and the other security headers', async (_, run) => {
    const result = await run()
    expect(header(result, 'content-type')).toMatch(/^text\/html/)
    const csp = header(result, 'content-security-policy') ?? ''
    const directives = new Map(
      csp
        .split(';')
        .map((d) => d.trim().split(/\s+/))
        .map(([name, ...values]) => [name!, values]),
    )
    expect(directives.get('form-action')).toEqual(["'self'"])
    expect(directives.get('frame-ancestors')).toEqual(["'none'"])
    expect(directives.get('default-src')).toEqual(["'none'"])
    expect(directives.get('script-src') ?? directives.get('default-src')).not.toContain("'unsafe-inline'")
    expect(csp).not.toMatch(/unsafe-inline|unsafe-eval/)
    expect(csp).not.toMatch(/sandbox/)
    expect(header(result, 'x-content-type-options')).toBe('nosniff')
    expect(header(result, 'referrer-policy')).toBe('same-origin')
    expect(header(result, 'x-frame-options')).toBe('DENY')
    // nothing inline that the CSP would block: the one script is a file from /static
    expect(withoutOwnScript(result.body ?? '')).not.toMatch(/<script|<style|\sstyle=|\son[a-z]+=/i)
  })

  it('marks pages that show account data Cache-Control: no-store', async () => {
    const [, dashboard] = pages.find(([name]) => name === 'the dashboard')!
    expect(header(await dashboard(), 'cache-control')).toBe('no-store')
  })

  it('sets the security headers on redirects too', async () => {
    const result = await invoke(dashboardHandler, {
      path: '/dashboard/x',
      pathParameters: { username: 'x' },
      headers: HTML,
    })
    expect(result.statusCode).toBe(303)
    expect(header(result, 'x-frame-options')).toBe('DENY')
    expect(header(result, 'x-content-type-options')).toBe('nosniff')
  })
})
