// The HTTP contract (docs/api.md), POST /register: real requests on a real port through the Express
// adapter, against the first database kind (what differs by database: tests/http/databases.test.ts).
import { describe, expect, it } from 'vitest'
import { CookieJar } from '../../helpers/http.ts'
import { expectProblem, expectNoSecrets } from '../../helpers/expect.ts'
import { inputValue } from '../../helpers/pages.ts'
import { strongPassword, uniqueUsername } from '../../helpers/factories.ts'
import { useSecurityService } from '../../helpers/accounts.ts'

const COMMON_PASSWORD = '1qaz2wsx3edc4rfv' // on the zxcvbn-ts list, 16 characters

const s = useSecurityService()

describe('POST /register', () => {
  it('JSON: 201 with id, username as registered and created_at; no password or hash; no-store', async () => {
    const username = uniqueUsername('Mixed.Case')
    const password = strongPassword()
    const before = Date.now()
    const reply = await s.http.postJson('/register', { username, password, role: 'admin', is_admin: true })
    expect(reply.status).toBe(201)
    expect(reply.contentType).toMatch(/^application\/json/)
    expect(reply.json).toEqual({
      user: { id: expect.any(String), username, created_at: expect.any(String), last_login_time: null },
    })
    const created = Date.parse(reply.json.user.created_at)
    expect(created).toBeGreaterThanOrEqual(before - 1000)
    expect(created).toBeLessThanOrEqual(Date.now() + 1000)
    expect(reply.headers.get('cache-control')).toBe('no-store')
    expectNoSecrets(reply.text, s.secretsOf({ password }))
    expect(reply.text).not.toContain('admin')
  })

  it('form: 303 to /login, and the login page then shows "account created" once', async () => {
    const jar = new CookieJar()
    const account = { username: uniqueUsername('form'), password: strongPassword() }
    const reply = await s.http.postForm('/register', account, { jar })
    expect(reply.status).toBe(303)
    expect(reply.location).toBe('/login')
    expect(reply.text).toBe('')
    const page = await s.http.getHtml(reply.location!, { jar })
    expect(page.status).toBe(200)
    expect(page.text).toContain('Your account was created')
    const again = await s.http.getHtml('/login', { jar })
    expect(again.text).not.toContain('Your account was created')
    // the account exists: it can sign in
    await s.apiLogin(account)
  })

  it('a taken name, in any letter case: JSON 409 username_taken with an error on username', async () => {
    const account = await s.register('Taken')
    for (const username of [account.username, account.username.toUpperCase(), account.username.toLowerCase()]) {
      const reply = await s.http.postJson('/register', { username, password: strongPassword() })
      expectProblem(reply, 409, 'username_taken', s.secretsOf(account))
      expect(reply.json.errors).toEqual([{ field: 'username', message: expect.any(String) }])
    }
  })

  it('a taken name, form: 409 registration page keeping the username, never the password', async () => {
    const account = await s.register('taken')
    const password = strongPassword()
    const reply = await s.http.postForm('/register', { username: account.username.toUpperCase(), password })
    expect(reply.status).toBe(409)
    expect(reply.contentType).toMatch(/^text\/html/)
    expect(reply.text).toMatch(/action="\/register"/)
    expect(reply.text).toContain('already taken')
    expect(inputValue(reply.text, 'username')).toBe(account.username.toUpperCase())
    expect(inputValue(reply.text, 'password')).toBeUndefined()
    expectNoSecrets(reply.text, [password, account.password, ...s.secretsOf()])
  })

  const invalid: [string, (name: string) => Record<string, unknown>, string[]][] = [
    ['nothing at all', () => ({}), ['username', 'password']],
    ['a 2-character username', () => ({ username: 'zz', password: strongPassword() }), ['username']], // 'zz' cannot occur in a strongPassword()
    ['a 33-character username', () => ({ username: 'a'.repeat(33), password: strongPassword() }), ['username']],
    ['a space in the username', (n) => ({ username: `${n} x`, password: strongPassword() }), ['username']],
    ['a non-ASCII username', () => ({ username: 'Ålice-ünicode', password: strongPassword() }), ['username']],
    ['a username that is not text', () => ({ username: 12345, password: strongPassword() }), ['username']],
    ['a 14-character password', (n) => ({ username: n, password: 'abcdefghijklmn' }), ['password']],
    ['a password over 72 bytes', (n) => ({ username: n, password: 'é'.repeat(37) }), ['password']],
    ['a common password', (n) => ({ username: n, password: COMMON_PASSWORD }), ['password']],
    ['a common password in capitals', (n) => ({ username: n, password: COMMON_PASSWORD.toUpperCase() }), ['password']],
    [
      'a password containing the username',
      (n) => ({ username: n, password: `my ${n.toUpperCase()} is great` }),
      ['password'],
    ],
    ['a password that is not text', (n) => ({ username: n, password: ['x'.repeat(20)] }), ['password']],
  ]
  it.each(invalid)('JSON with %s: 400 validation_failed naming the fields', async (_label, make, fields) => {
    const input = make(uniqueUsername('inv'))
    const reply = await s.http.postJson('/register', input)
    expectProblem(reply, 400, 'validation_failed', [
      ...s.secretsOf(),
      ...(typeof input.password === 'string' ? [input.password] : []),
    ])
    expect(reply.json.errors.map((e: { field: string }) => e.field).sort()).toEqual([...fields].sort())
    for (const error of reply.json.errors) expect(error.message).toEqual(expect.any(String))
  })

  it('a password over 72 bytes is refused with a message that says so (never truncated)', async () => {
    const reply = await s.http.postJson('/register', { username: uniqueUsername('long'), password: 'é'.repeat(37) })
    expect(reply.status).toBe(400)
    expect(reply.json.errors[0].message).toMatch(/72 bytes/)
  })

  it('form with invalid fields: 400 page with the messages, the typed username escaped, no password', async () => {
    const username = '<script>alert("x")</script>'
    const password = 'short'
    const reply = await s.http.postForm('/register', { username, password })
    expect(reply.status).toBe(400)
    expect(reply.contentType).toMatch(/^text\/html/)
    expect(reply.text).toContain('Username may only contain')
    expect(reply.text).toContain('at least 15 characters')
    expect(reply.text).not.toContain('<script>')
    expect(reply.text).toContain('&lt;script&gt;')
    expect(inputValue(reply.text, 'password')).toBeUndefined()
    expect(reply.text).not.toContain(`value="${password}"`)
  })
})
