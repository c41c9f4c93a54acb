// ASVS 5.0 V2 Validation and Business Logic, Level 1 and 2, black box over HTTP against the first
// database kind. The documented rules (docs/api.md) are read from the document itself and checked
// at their boundaries, so the document and the service cannot drift apart unnoticed. What a route's
// table proves (the field rules that combine, the flows' order, the limits, all-or-nothing changes)
// is named there by docs/security.md. 2.4.1 (anti-automation) lives with the throttling:
// tests/security/throttling.test.ts.
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

    // and 72 bytes fit (bcrypt would silently ignore the 73rd: the register table refuses it)
    const bytes = `${strongPassword()} ${'x'.repeat(80)}`.slice(0, rules.passwordMaxBytes)
    expect((await register({ username: uniqueUsername('by'), password: bytes })).status).toBe(201)
  })

  it('2.1.2 documents the rules that combine fields (password vs. username, new vs. current password)', async () => {
    const { doc } = await documentedRules()
    expect(doc).toMatch(/contains the username \(case-insensitively\)/)
    expect(doc).toMatch(/A new password must\s+differ from the current one/)
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
})

describe('V2.3 Business logic security', () => {
  it('2.3.4 cannot hand out one username twice: parallel registrations in any letter case, exactly one wins', async () => {
    const base = uniqueUsername('Race')
    const variants = [base, base.toLowerCase(), base.toUpperCase(), base, base.toLowerCase(), base.toUpperCase()]
    const replies = await Promise.all(variants.map((username) => register({ username, password: strongPassword() })))
    const statuses = replies.map((r) => r.status).sort()
    expect(statuses).toEqual([201, 409, 409, 409, 409, 409])
    for (const reply of replies.filter((r) => r.status === 409)) expectProblem(reply, 409, 'username_taken')
  })
})
