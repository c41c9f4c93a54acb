// ASVS 5.0 V2 Validation and Business Logic, Level 1 and 2, black box over HTTP against the first
// database kind. The documented rules (docs/api.md) are read from the document itself and checked
// at their boundaries, so the document and the service cannot drift apart unnoticed.
// 2.4.1 (anti-automation) lives with the throttling: tests/security/throttling.test.ts.
import { readFile } from 'node:fs/promises'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { strongPassword, uniqueUsername } from '../helpers/factories.ts'
import type { Reply } from '../helpers/http.ts'

import { inputValue } from '../helpers/pages.ts'
import { expectProblem } from '../helpers/expect.ts'
import { startService, type TestService, LOOSE_THROTTLE } from '../helpers/service.ts'

let s: TestService
beforeAll(async () => {
  s = await startService({ env: LOOSE_THROTTLE })
})
afterAll(async () => {
  await s?.stop()
})

const API_DOC = new URL('../../docs/api.md', import.meta.url)
const register = (body: Record<string, unknown>) => s.http.postJson('/register', body)
const changePassword = (token: string, body: Record<string, unknown>) =>
  s.http.postJson('/password', body, { bearer: token })

/** 400 validation_failed whose errors name exactly `fields`. */
function expectInvalid(reply: Reply, fields: string[]) {
  expectProblem(reply, 400, 'validation_failed')
  expect((reply.json.errors as { field: string }[]).map((e) => e.field).sort()).toEqual([...fields].sort())
}

/** A name of exactly `length` allowed characters, unique per call. */
const nameOfLength = (length: number) => uniqueUsername('n').replace('-', '.').padEnd(length, '_').slice(0, length)

/** The documented numbers: username length range, password minimum (code points) and maximum (bytes). */
async function documentedRules() {
  const doc = await readFile(API_DOC, 'utf8')
  const username = /`username`: (\d+)–(\d+) characters of `A–Z a–z 0–9 \. _ -`/.exec(doc)
  const minLength = /`PASSWORD_MIN_LENGTH` code points \(default (\d+)\)/.exec(doc)
  const maxBytes = /at most (\d+) UTF-8 bytes/.exec(doc)
  expect(username, 'docs/api.md states the username rule').not.toBeNull()
  expect(minLength, 'docs/api.md states the password minimum').not.toBeNull()
  expect(maxBytes, 'docs/api.md states the password maximum').not.toBeNull()
  return {
    doc,
    usernameMin: Number(username![1]),
    usernameMax: Number(username![2]),
    passwordMin: Number(minLength![1]),
    passwordMaxBytes: Number(maxBytes![1]),
  }
}

describe('V2.1 Validation and business logic documentation', () => {
  it('2.1.1 documents the input rules (docs/api.md) and enforces exactly those, at their boundaries', async () => {
    const rules = await documentedRules()
    expect(rules).toMatchObject({ usernameMin: 3, usernameMax: 32, passwordMin: 15, passwordMaxBytes: 72 })
    const password = strongPassword()

    expectInvalid(await register({ username: nameOfLength(rules.usernameMin - 1), password }), ['username'])
    expect((await register({ username: nameOfLength(rules.usernameMin), password })).status).toBe(201)
    expect((await register({ username: nameOfLength(rules.usernameMax), password })).status).toBe(201)
    expectInvalid(await register({ username: nameOfLength(rules.usernameMax + 1), password }), ['username'])

    // length in code points: 15 emoji are 15 characters (30 UTF-16 units, 60 bytes)
    const emoji = ['🦊', '🌲', '🛰', '🔭', '🧭', '🪐', '🌋', '🐙', '🦉', '🍄', '🎻', '🧩', '🪁', '🦔', '🐝']
    expect(
      (await register({ username: uniqueUsername('cp'), password: emoji.slice(0, rules.passwordMin).join('') })).status,
    ).toBe(201)
    expectInvalid(
      await register({ username: uniqueUsername('cp'), password: emoji.slice(0, rules.passwordMin - 1).join('') }),
      ['password'],
    )
    // size in bytes: 72 fit, 73 do not (bcrypt would silently ignore the rest)
    const bytes = (n: number) => `${strongPassword()} ${'x'.repeat(80)}`.slice(0, n)
    expect((await register({ username: uniqueUsername('by'), password: bytes(rules.passwordMaxBytes) })).status).toBe(
      201,
    )
    const over = await register({ username: uniqueUsername('by'), password: bytes(rules.passwordMaxBytes + 1) })
    expectInvalid(over, ['password'])
    expect(over.json.errors[0].message).toContain(`${rules.passwordMaxBytes} bytes`)
  })

  it('2.1.2 documents the rules that combine fields (password vs. username, new vs. current password)', async () => {
    const { doc } = await documentedRules()
    expect(doc).toMatch(/contains the username \(case-insensitively\)/)
    expect(doc).toMatch(/A new password must\s+differ from the current one/)
    // and the documented combination is the enforced one (the full set is in 2.2.3)
    const username = uniqueUsername('combo')
    expectInvalid(await register({ username, password: `harbor ${username.toUpperCase()} quartz` }), ['password'])
  })

  it('2.1.3 documents the limits: per request, per user and per client (body size, lengths, session, throttling)', async () => {
    const docs = (
      await Promise.all(
        ['api.md', 'security.md'].map((f) =>
          readFile(new URL(`../../docs/${f}`, import.meta.url), 'utf8').catch(() => ''),
        ),
      )
    ).join('\n')
    expect(docs).toMatch(/16 KiB/) // per request
    expect(docs).toMatch(/SESSION_TTL_SECONDS/) // per session
    expect(docs).toMatch(/LOGIN_MAX_FAILURES/) // per user and client
    expect(docs).toMatch(/LOGIN_CLIENT_MAX_FAILURES/) // per client, whatever the username
    expect(docs).toMatch(/REGISTRATIONS_PER_HOUR/) // per client
  })
})

describe('V2.2 Input validation', () => {
  it('2.2.1 validates every input against an allow list: the username pattern, types and sizes of every field', async () => {
    const refused = [
      '',
      'ab',
      ' alice',
      'alice ',
      'al ice',
      'al\tice',
      'al\nice',
      'al\u0000ice',
      'аlice', // Cyrillic а
      'ａｌｉｃｅ',
      'al\u200bice',
      'alice!',
      'al/ice',
      'al\\ice',
      'al@ice',
      'al%41ice',
      'al+ice',
      '../etc',
      "' OR 1=1 --",
      "admin'--",
      '{{7*7}}',
      '${7*7}',
      '<script>',
      'x'.repeat(33),
    ]
    for (const username of refused) {
      const reply = await register({ username, password: strongPassword() })
      expectProblem(reply, 400, 'validation_failed')
      expect(
        reply.json.errors.map((e: { field: string }) => e.field),
        JSON.stringify(username),
      ).toContain('username')
    }
    for (const username of [uniqueUsername('A.b_C-9'), `9${uniqueUsername('')}`, `._-${uniqueUsername('x')}`]) {
      expect((await register({ username, password: strongPassword() })).status, username).toBe(201)
    }
    // login and password change check type and size of every field too (a name no account has is fine there)
    expectInvalid(await s.http.postJson('/login', { username: 'u'.repeat(257), password: 'p'.repeat(20) }), [
      'username',
    ])
    expectInvalid(await s.http.postJson('/login', { username: 'someone', password: 'é'.repeat(37) }), ['password'])
    expectInvalid(await s.http.postJson('/login', {}), ['password', 'username'])
    const account = await s.register('v221')
    const token = await s.apiLogin(account)
    expectInvalid(await changePassword(token, { current_password: 7, new_password: ['x'] }), [
      'current_password',
      'new_password',
    ])
  })

  it('2.2.2 validates on the server: a client that skips the form hints (required, minlength) is still refused', async () => {
    const page = await s.http.getHtml('/register')
    expect(page.text).toMatch(/<form[^>]*novalidate/) // the browser checks nothing: the server must
    const empty = await s.http.postForm('/register', { username: '', password: '' })
    expect(empty.status).toBe(400)
    expect(empty.text).toMatch(/id="username-error"/)
    expect(empty.text).toMatch(/id="password-error"/)
    const short = await s.http.postForm('/register', { username: 'ok-name', password: 'short' })
    expect(short.status).toBe(400)
    expect(inputValue(short.text, 'username')).toBe('ok-name')
    // nothing was created from either
    expectProblem(
      await s.http.postJson('/login', { username: 'ok-name', password: 'short' }),
      401,
      'invalid_credentials',
    )
  })

  it('2.2.3 checks that related fields fit together: password vs. username, new vs. current password', async () => {
    const username = uniqueUsername('pair')
    // contains the username, in any letter case
    expectInvalid(await register({ username, password: `my ${username.toUpperCase()} secret` }), ['password'])
    const account = await s.register('pair')
    const token = await s.apiLogin(account)
    expectInvalid(await changePassword(token, { current_password: account.password, new_password: account.password }), [
      'new_password',
    ])
    expectInvalid(
      await changePassword(token, {
        current_password: account.password,
        new_password: `the ${account.username} of harbors`,
      }),
      ['new_password'],
    )
    // none of the refusals changed the password
    expect((await s.http.postJson('/login', account)).status).toBe(200)
  })
})

describe('V2.3 Business logic security', () => {
  it('2.3.1 runs the account flows in order: no step (sign-in, current password) can be skipped', async () => {
    const account = await s.register('order')
    // without signing in there is no dashboard and no password change
    expectProblem(await s.http.getJson(`/dashboard/${account.username}`), 401, 'unauthorized')
    expectProblem(
      await s.http.postJson('/password', { current_password: account.password, new_password: strongPassword() }),
      401,
      'unauthorized',
    )
    // signed in, the password change still needs the current password: leaving it out skips nothing
    const token = await s.apiLogin(account)
    expectInvalid(await changePassword(token, { new_password: strongPassword() }), ['current_password'])
    expectInvalid(await changePassword(token, { current_password: '', new_password: strongPassword() }), [
      'current_password',
    ])
    // a flow that has ended (sign-out) cannot be continued with its token
    expect((await s.http.postJson('/logout', {}, { bearer: token })).status).toBe(204)
    expectProblem(
      await changePassword(token, { current_password: account.password, new_password: strongPassword() }),
      401,
      'unauthorized',
    )
    expect((await s.http.postJson('/login', account)).status).toBe(200) // the password never changed
  })

  it('2.3.2 enforces the documented limits: 16 KiB bodies, 72-byte passwords, 32-character names, session lifetime', async () => {
    const padded = (bytes: number) => {
      const base = JSON.stringify({ username: 'someone', password: 'p'.repeat(30), pad: '' })
      return base.replace('"pad":""', `"pad":"${'x'.repeat(bytes - base.length)}"`)
    }
    const headers = { 'content-type': 'application/json', accept: 'application/json' }
    expectProblem(
      await s.http.call('/login', { method: 'POST', body: padded(16 * 1024), headers }),
      401,
      'invalid_credentials',
    )
    expectProblem(
      await s.http.call('/login', { method: 'POST', body: padded(16 * 1024 + 1), headers }),
      413,
      'payload_too_large',
    )
    expectInvalid(
      await register({ username: uniqueUsername('lim'), password: `${strongPassword()}${'y'.repeat(60)}` }),
      ['password'],
    )
    expectInvalid(
      await register({ username: `${uniqueUsername('lim')}${'z'.repeat(22)}`, password: strongPassword() }),
      ['username'],
    )
    const account = await s.register('lim')
    const login = await s.http.postJson('/login', account)
    expect(login.json.expires_in).toBe(3600)
  })

  it('2.3.3 changes state all or nothing: a refused change leaves everything, a done one does all of its parts', async () => {
    const account = await s.register('atomic')
    const [current, other] = [await s.apiLogin(account), await s.apiLogin(account)]
    const next = strongPassword()
    // refused (new password too short): the password, and both sessions, stay as they were
    expectInvalid(await changePassword(current, { current_password: account.password, new_password: 'too short' }), [
      'new_password',
    ])
    expect((await s.dashboard(account.username, other)).status).toBe(200)
    expect((await s.http.postJson('/login', account)).status).toBe(200)
    // done: the new hash and the revocation of the other sessions land together
    expect((await changePassword(current, { current_password: account.password, new_password: next })).status).toBe(204)
    expect((await s.dashboard(account.username, current)).status).toBe(200)
    expectProblem(await s.dashboard(account.username, other), 401, 'unauthorized')
    expectProblem(await s.http.postJson('/login', account), 401, 'invalid_credentials')
    const signedIn = await s.http.postJson('/login', { username: account.username, password: next })
    expect(signedIn.status).toBe(200)
    // the login time and the session come from one transaction: the dashboard reports that same time
    const dashboard = await s.dashboard(account.username, signedIn.json.access_token)
    expect(dashboard.json.user.last_login_time).toBe(signedIn.json.user.last_login_time)
  })

  it('2.3.4 cannot hand out one username twice: parallel registrations in any letter case, exactly one wins', async () => {
    const base = uniqueUsername('Race')
    const variants = [base, base.toLowerCase(), base.toUpperCase(), base, base.toLowerCase(), base.toUpperCase()]
    const replies = await Promise.all(variants.map((username) => register({ username, password: strongPassword() })))
    const statuses = replies.map((r) => r.status).sort()
    expect(statuses).toEqual([201, 409, 409, 409, 409, 409])
    for (const reply of replies.filter((r) => r.status === 409)) expectProblem(reply, 409, 'username_taken')
  })
})
