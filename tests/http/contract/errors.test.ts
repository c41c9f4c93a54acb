// The HTTP contract (docs/api.md), error scenarios: real requests on a real port through the Express
// adapter, against the first database kind (what differs by database: tests/http/databases.test.ts).
import { beforeAll, describe, expect, it } from 'vitest'
import type { CookieJar, Reply } from '../../helpers/http.ts'
import { expectProblem } from '../../helpers/expect.ts'
import { strongPassword, uniqueUsername } from '../../helpers/factories.ts'
import { useService, type Account } from '../../helpers/service.ts'

const FOREIGN_ORIGIN = 'http://evil.example'

const s = useService()

describe('error scenarios (JSON problem details, nothing secret)', () => {
  let account: Account & { id: string }
  let token: string
  let jar: CookieJar
  beforeAll(async () => {
    account = await s.register('scenario')
    token = await s.apiLogin(account)
    jar = await s.browserLogin(account)
  })

  const scenarios: [string, number, string, () => Promise<Reply>][] = [
    [
      'register, taken name',
      409,
      'username_taken',
      () => s.http.postJson('/register', { username: account.username, password: strongPassword() }),
    ],
    [
      'register, invalid',
      400,
      'validation_failed',
      () => s.http.postJson('/register', { username: '!', password: account.password }),
    ],
    [
      'login, wrong password',
      401,
      'invalid_credentials',
      () => s.http.postJson('/login', { username: account.username, password: `${account.password}x` }),
    ],
    [
      'login, password as username',
      400,
      'validation_failed',
      () => s.http.postJson('/login', { username: account.password, password: account.password }),
    ],
    ['dashboard, no token', 401, 'unauthorized', () => s.http.getJson(`/dashboard/${account.username}`)],
    [
      'dashboard, other user',
      403,
      'forbidden',
      () => s.http.getJson(`/dashboard/${uniqueUsername('x')}`, { bearer: token }),
    ],
    [
      'password, wrong current',
      400,
      'validation_failed',
      () =>
        s.http.postJson(
          '/password',
          { current_password: `${account.password}x`, new_password: strongPassword() },
          { bearer: token },
        ),
    ],
    [
      'password, no session',
      401,
      'unauthorized',
      () => s.http.postJson('/password', { current_password: account.password, new_password: strongPassword() }),
    ],
    [
      'cross-origin post with the cookie',
      403,
      'cross_origin_rejected',
      () => s.http.call('/logout', { method: 'POST', json: {}, headers: { origin: FOREIGN_ORIGIN }, jar }),
    ],
    ['unknown path', 404, 'not_found', () => s.http.getJson(`/${account.password.replaceAll(' ', '-')}`)],
    [
      'wrong method',
      405,
      'method_not_allowed',
      () => s.http.call('/health', { method: 'PUT', headers: { accept: 'application/json' } }),
    ],
    [
      'too large',
      413,
      'payload_too_large',
      () =>
        s.http.postJson('/login', {
          username: account.username,
          password: account.password,
          pad: 'x'.repeat(17 * 1024),
        }),
    ],
    [
      'wrong type',
      415,
      'unsupported_media_type',
      () =>
        s.http.call('/login', {
          method: 'POST',
          body: `password=${account.password}`,
          headers: { 'content-type': 'text/plain', accept: 'application/json' },
        }),
    ],
    [
      'malformed JSON',
      400,
      'validation_failed',
      () =>
        s.http.call('/login', {
          method: 'POST',
          body: `{"password": "${account.password}"`,
          headers: { 'content-type': 'application/json' },
        }),
    ],
  ]
  it.each(scenarios)('%s → %i %s', async (_label, status, code, send) => {
    const reply = await send()
    expectProblem(reply, status, code, [...s.secretsOf(account), token])
    expect(reply.json.type).toBe(`/problems/${code}`)
    if (status < 500) expect(reply.json.detail ?? '').not.toMatch(/undefined|null|\[object/)
  })
})
