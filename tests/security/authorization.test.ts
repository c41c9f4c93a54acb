// ASVS 5.0 V8 Authorization (Level 1 and 2), black box over HTTP. The rules are few: a user may
// see only their own dashboard and change only their own password; there are no roles. What the
// tests guard is that the server decides from its own session row, whatever the client sends.
// 8.2.1 (no valid session, no function) is each route table's own refusal rows (docs/security.md).
import { readFile } from 'node:fs/promises'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { strongPassword, uniqueUsername } from '../helpers/factories.ts'
import type { Reply } from '../helpers/http.ts'

import { resign } from '../helpers/tokens.ts'
import { expectProblem } from '../helpers/expect.ts'
import { startService, type TestService, type Account } from '../helpers/service.ts'

let s: TestService
let alice: Account
let bob: Account
let aliceToken: string
beforeAll(async () => {
  s = await startService()
  alice = await s.register('Alice')
  bob = await s.register('Bob')
  aliceToken = await s.apiLogin(alice)
})
afterAll(async () => {
  await s?.stop()
})

const docs = () => readFile(new URL('../../docs/api.md', import.meta.url), 'utf8')

/** Nothing of `victim`'s account is in the answer: not its id, and not its creation time. */
function expectNothingOf(victim: Account, reply: Reply) {
  expect(reply.text).not.toContain(victim.password)
  expect(reply.json?.user).toBeUndefined()
  expect(reply.text).not.toMatch(new RegExp(`"id":"${victim.id}"`))
}

describe('V8.1 Authorization documentation', () => {
  it('8.1.1 documents who may use each function and see which data', async () => {
    const api = await docs()
    expect(api).toMatch(/`forbidden` \| 403 \| another user's dashboard \(whether or not that user exists\)/)
    expect(api).toMatch(/Another user's name, or an unknown name while signed in: `403 forbidden`/)
    expect(api).toMatch(/`unauthorized` \| 401 \| no token, an invalid token, a revoked session/)
    // and the service follows it: the dashboard table's 403 and 401 rows
  })

  it('8.1.2 documents which fields may be read and written, and only those are', async () => {
    const api = await docs()
    expect(api).toMatch(/Unknown JSON fields \(`role`, `is_admin`, …\) are ignored, never stored\./)
    // the fields each answer may carry are those of the OpenAPI document the service serves (its
    // schemas are the ones the handlers' bodies are typed by), and the dashboard sends exactly those
    const document = (await s.http.getJson('/openapi.json')).json
    const documented = document.paths['/dashboard/{username}'].get.responses['200'].content['application/json'].schema
    expect(documented.additionalProperties).toBe(false)
    const reply = await s.dashboard(alice.username, aliceToken)
    expect(Object.keys(reply.json).sort()).toEqual(['apps', 'gateway', 'session', 'sessions', 'user'])
    expect(Object.keys(documented.properties).sort()).toEqual(Object.keys(reply.json).sort())
    expect(Object.keys(reply.json.session)).toEqual(['signed_in_at', 'expires_at'])
    expect(Object.keys(documented.properties.session.properties)).toEqual(Object.keys(reply.json.session))
  })
})

describe('V8.2 General authorization design', () => {
  it('8.2.2 never serves or changes another user’s data (IDOR), whatever the path looks like', async () => {
    const jar = await s.browserLogin(alice)
    const targets = [
      bob.username,
      bob.username.toUpperCase(), // names match in any case: BOB is bob
      bob.username.toLowerCase(),
      encodeURIComponent(`${bob.username}\u0000`),
      `${bob.username}%20`,
      `${encodeURIComponent(bob.username)}%2F..%2F${encodeURIComponent(alice.username)}`,
    ]
    for (const target of targets) {
      const api = await s.http.getJson(`/dashboard/${target}`, { bearer: aliceToken })
      expect([403, 404], `${target}: ${api.status}`).toContain(api.status)
      expectNothingOf(bob, api)
      const page = await s.http.getHtml(`/dashboard/${target}`, { jar })
      expect([403, 404]).toContain(page.status)
      expect(page.text).not.toContain('Account created')
    }
    // one's own name in another case is one's own dashboard
    expect((await s.dashboard(alice.username.toUpperCase(), aliceToken)).json.user.id).toBe(alice.id)
    // POST /password acts on the session's user only, whatever the body names: coding.test.ts 15.3.3
  })

  it('8.2.3 reads and writes only permitted fields: no hash out, no id, times or role in (BOPLA)', async () => {
    const username = uniqueUsername('fields')
    const password = strongPassword()
    const registered = await s.http.postJson('/register', {
      username,
      password,
      id: '1',
      created_at: '2000-01-01T00:00:00.000Z',
      last_login_time: '2000-01-01T00:00:00.000Z',
      password_hash: '$2b$10$abcdefghijklmnopqrstuuQ0L7JQXhFBCTR8vWtSs1ZzKkbJ.8TrG',
      role: 'admin',
      is_admin: true,
    })
    expect(registered.status).toBe(201)
    expect(registered.json.user.id).not.toBe('1')
    expect(registered.json.user.created_at).not.toMatch(/^2000/)
    expect(registered.json.user.last_login_time).toBeNull()
    const login = await s.http.postJson('/login', { username, password })
    expect(login.status).toBe(200) // the hash sent was not stored
    const dashboard = await s.dashboard(username, login.json.access_token)
    expect(Object.keys(dashboard.json.user).sort()).toEqual([
      'created_at',
      'id',
      'last_login_time',
      'previous_login_time',
      'username',
    ])
    // "password" appears once, as how the session signed in; nowhere else
    expect(dashboard.json.sessions.map((listed: { sign_in_method: string }) => listed.sign_in_method)).toEqual([
      'password',
    ])
    expect(dashboard.text.replace('"sign_in_method":"password"', '')).not.toMatch(/admin|password|hash/i)
  })
})

describe('V8.3 Operation level authorization', () => {
  it('8.3.1 decides on the server from its own session row, not from anything the client controls', async () => {
    const path = `/dashboard/${bob.username}`
    const spoofs: Record<string, string>[] = [
      { 'x-forwarded-user': bob.username, 'x-remote-user': bob.username, 'x-user-id': bob.id },
      { 'x-original-url': `/dashboard/${alice.username}`, 'x-rewrite-url': `/dashboard/${alice.username}` },
      { cookie: `username=${bob.username}; user_id=${bob.id}; role=admin` },
    ]
    for (const headers of spoofs) {
      const reply = await s.http.getJson(path, { bearer: aliceToken, headers })
      expectProblem(reply, 403, 'forbidden')
      expectNothingOf(bob, reply)
    }
    // Alice's own, validly signed token claiming to be Bob: the user comes from the session row
    const claimsBob = resign(s, aliceToken, { preferred_username: bob.username })
    expectProblem(await s.dashboard(bob.username, claimsBob), 403, 'forbidden')
    // the pages' client-side checks are not what enforces the rules: validation.test.ts 2.2.2
  })
})
