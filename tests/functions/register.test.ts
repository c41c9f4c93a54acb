import { describe, expect, it } from 'vitest'
import { handler } from '#functions/register.ts'
import { handler as registerPageHandler } from '#functions/register-page.ts'
import { handler as indexHandler } from '#functions/index.ts'
import { findUserByUsername } from '#lib/auth/users.ts'
import { isCommonPassword } from '#lib/auth/common-passwords.ts'
import { invoke, jsonBody } from '../helpers/events.ts'
import { strongPassword, uniqueUsername } from '../helpers/factories.ts'
import { header, HTML, OWN_ORIGIN, setCookie, useRuntime } from '../helpers/handlers.ts'
import { expectProblem, expectNoSecrets } from '../helpers/expect.ts'

const runtime = useRuntime()
const stored = (username: string) => findUserByUsername(runtime().db, username)

const COMMON = 'passwordpassword'
const EMOJI_15 = '🔑'.repeat(15) // 15 code points, 30 UTF-16 units, 60 bytes
const EMOJI_19 = '🔑'.repeat(19) // 76 bytes: over bcrypt's 72

describe('POST /register with JSON', () => {
  it('creates the account and answers 201 with id, username and created_at, never the hash', async () => {
    const username = uniqueUsername('Alice')
    const password = strongPassword()
    const result = await invoke(handler, { path: '/register', json: { username, password } })
    expect(result.statusCode).toBe(201)
    expect(header(result, 'content-type')).toMatch(/^application\/json/)
    const body = jsonBody(result)
    expect(body.user).toMatchObject({ id: expect.any(String), username, created_at: expect.any(String) })
    expect(Date.parse(body.user.created_at)).not.toBeNaN()
    expectNoSecrets(result, [password])
    const row = await stored(username.toLowerCase())
    expect(row?.username).toBe(username)
    const cost = String(runtime().config.password.bcryptCost).padStart(2, '0')
    expect(row?.passwordHash).toMatch(new RegExp(`^\\$2[aby]\\$${cost}\\$`))
  })

  it('counts password length in code points, so 15 emoji are long enough', async () => {
    const username = uniqueUsername()
    const result = await invoke(handler, { path: '/register', json: { username, password: EMOJI_15 } })
    expect(result.statusCode).toBe(201)
    expect(await stored(username)).not.toBeNull()
  })

  it('ignores extra fields such as role and is_admin', async () => {
    const username = uniqueUsername()
    const result = await invoke(handler, {
      path: '/register',
      json: { username, password: strongPassword(), role: 'admin', is_admin: true },
    })
    expect(result.statusCode).toBe(201)
    const body = jsonBody(result)
    expect(Object.keys(body)).toEqual(['user'])
    expect(Object.keys(body.user).sort()).toEqual(['created_at', 'id', 'last_login_time', 'username'])
    expect(result.body).not.toContain('admin')
  })

  it('refuses a name taken in another letter case with 409 username_taken and a username field error', async () => {
    const suffix = uniqueUsername('').slice(1)
    const password = strongPassword()
    expect(
      (await invoke(handler, { path: '/register', json: { username: `Alice${suffix}`, password } })).statusCode,
    ).toBe(201)
    const result = await invoke(handler, { path: '/register', json: { username: `alice${suffix}`, password } })
    const body = expectProblem(result, 409, 'username_taken')
    expect(body.errors).toEqual([{ field: 'username', message: expect.any(String) }])
    expectNoSecrets(result, [password])
    expect((await stored(`alice${suffix}`))?.username).toBe(`Alice${suffix}`)
  })

  it('uses a common password of at least 15 characters in its refusal table', () => {
    // guards the table below: the password must fail only for being common
    expect(isCommonPassword(COMMON)).toBe(true)
    expect([...COMMON].length).toBeGreaterThanOrEqual(15)
  })

  type Row = [string, (username: string) => unknown, string, RegExp?]
  const invalid: Row[] = [
    ['a username shorter than 3 characters', () => ({ username: 'ab', password: strongPassword() }), 'username'],
    [
      'a username longer than 32 characters',
      () => ({ username: 'a'.repeat(33), password: strongPassword() }),
      'username',
    ],
    ['a username with a space', () => ({ username: 'bad name', password: strongPassword() }), 'username'],
    ['a username with a non-ASCII letter', () => ({ username: 'josé-x', password: strongPassword() }), 'username'],
    ['a password of 14 characters', (u) => ({ username: u, password: 'harbor lantern' }), 'password', /15/],
    ['a password of 14 emoji', (u) => ({ username: u, password: '🔑'.repeat(14) }), 'password', /15/],
    ['a password over 72 bytes in UTF-8', (u) => ({ username: u, password: EMOJI_19 }), 'password', /72/],
    ['a 73-byte ASCII password', (u) => ({ username: u, password: 'x'.repeat(73) }), 'password', /72/],
    ['a commonly used password', (u) => ({ username: u, password: COMMON }), 'password', /common/i],
    [
      'a commonly used password in other letter case',
      (u) => ({ username: u, password: COMMON.toUpperCase() }),
      'password',
      /common/i,
    ],
    [
      'a password containing the username',
      (u) => ({ username: u, password: `harbor ${u} quartz` }),
      'password',
      /username/i,
    ],
    [
      'a password containing the username in capitals',
      (u) => ({ username: u, password: `harbor ${u.toUpperCase()} quartz` }),
      'password',
      /username/i,
    ],
    ['a number as username', () => ({ username: 12345, password: strongPassword() }), 'username'],
    ['an array as username', (u) => ({ username: [u], password: strongPassword() }), 'username'],
    ['an object as password', (u) => ({ username: u, password: { value: strongPassword() } }), 'password'],
    ['null as password', (u) => ({ username: u, password: null }), 'password'],
    ['a number as password', (u) => ({ username: u, password: 123456789012345 }), 'password'],
    ['a missing username', () => ({ password: strongPassword() }), 'username', /required/i],
    ['a missing password', (u) => ({ username: u }), 'password', /required/i],
  ]

  it.each(invalid)(
    'refuses %s with 400 validation_failed naming the field, storing nothing',
    async (_, build, field, message) => {
      const username = uniqueUsername()
      const body = build(username) as Record<string, unknown>
      const result = await invoke(handler, { path: '/register', json: body })
      const problem = expectProblem(result, 400, 'validation_failed')
      const error = (problem.errors as { field: string; message: string }[]).find((e) => e.field === field)
      expect(error).toBeDefined()
      if (message) expect(error!.message).toMatch(message)
      expectNoSecrets(result, [typeof body.password === 'string' ? body.password : ''])
      expect(await stored(username)).toBeNull()
      if (typeof body.username === 'string') expect(await stored(body.username)).toBeNull()
    },
  )

  it('refuses a body with both fields missing, listing both', async () => {
    const result = await invoke(handler, { path: '/register', json: {} })
    const problem = expectProblem(result, 400, 'validation_failed')
    expect(problem.errors.map((e: { field: string }) => e.field).sort()).toEqual(['password', 'username'])
  })
})

describe('POST /register with a form', () => {
  it('answers 303 to /login with a notice cookie, and the login page then says the account was created', async () => {
    const username = uniqueUsername()
    const password = strongPassword()
    const result = await invoke(handler, {
      path: '/register',
      form: { username, password },
      headers: { origin: OWN_ORIGIN },
    })
    expect(result.statusCode).toBe(303)
    expect(header(result, 'location')).toBe('/login')
    const notice = setCookie(result, '__Host-notice')
    // over HTTPS the notice is a __Host- cookie with Secure, like the session
    expect(notice).toMatch(/; Secure/i)
    expect(notice).toMatch(/; Path=\//i)
    expect(await stored(username)).not.toBeNull()
    expectNoSecrets(result, [password])

    const cookie = notice!.split(';')[0]!
    for (const [name, pageHandler] of [
      ['/login', indexHandler],
      ['/', indexHandler],
    ] as const) {
      const page = await invoke(pageHandler, { path: name, headers: HTML, cookies: [cookie] })
      expect(page.statusCode).toBe(200)
      expect(page.body).toMatch(/account was created/i)
      // the notice is shown once: the page consumes the cookie
      expect(setCookie(page, '__Host-notice')).toMatch(/Max-Age=0/i)
    }
  })

  it('shows no notice on the login page without the cookie', async () => {
    const page = await invoke(indexHandler, { path: '/login', headers: HTML })
    expect(page.statusCode).toBe(200)
    expect(page.body).toContain('action="/login"')
    expect(page.body).not.toMatch(/account was created/i)
  })

  it('refuses a repeated field with 400 and stores nothing', async () => {
    const username = uniqueUsername()
    const password = strongPassword()
    const result = await invoke(handler, {
      path: '/register',
      form: { username: [username, uniqueUsername()], password },
      headers: { origin: OWN_ORIGIN },
    })
    expect(result.statusCode).toBe(400)
    expect(header(result, 'content-type')).toMatch(/^text\/html/)
    expect(result.body).toMatch(/sent more than once/)
    expectNoSecrets(result, [password])
    expect(await stored(username)).toBeNull()
  })

  it('re-renders the register page with 400, the typed name escaped, and never the password', async () => {
    const username = '<script>alert(1)</script>'
    const password = 'short secret 1' // also too short: the page must still not echo it
    const result = await invoke(handler, {
      path: '/register',
      form: { username, password },
      headers: { origin: OWN_ORIGIN },
    })
    expect(result.statusCode).toBe(400)
    expect(header(result, 'content-type')).toMatch(/^text\/html/)
    expect(result.body).toContain('action="/register"')
    expect(result.body).toContain('&lt;script&gt;alert(1)&lt;/script&gt;')
    expect(result.body).not.toContain('<script>')
    expect(result.body).not.toContain(password)
    expect(result.body).toMatch(/aria-invalid="true"/)
  })

  it('keeps the typed name but drops the password when re-rendering for a too-short password', async () => {
    const username = uniqueUsername()
    const password = 'harbor lantern'
    const result = await invoke(handler, {
      path: '/register',
      form: { username, password },
      headers: { origin: OWN_ORIGIN },
    })
    expect(result.statusCode).toBe(400)
    expect(result.body).toContain(`value="${username}"`)
    expect(result.body).toMatch(/at least 15 characters/)
    expect(result.body).not.toContain(password)
    expect(await stored(username)).toBeNull()
  })

  it('re-renders the register page with 409 for a taken name', async () => {
    const username = uniqueUsername()
    const password = strongPassword()
    expect((await invoke(handler, { path: '/register', json: { username, password } })).statusCode).toBe(201)
    const result = await invoke(handler, {
      path: '/register',
      form: { username: username.toUpperCase(), password },
      headers: { origin: OWN_ORIGIN },
    })
    expect(result.statusCode).toBe(409)
    expect(result.body).toContain('action="/register"')
    expect(result.body).toMatch(/already taken/)
    expect(result.body).toContain(`value="${username.toUpperCase()}"`)
    expectNoSecrets(result, [password])
  })
})

describe('GET /register', () => {
  it('shows the registration form with the minimum password length', async () => {
    const result = await invoke(registerPageHandler, { path: '/register', headers: HTML })
    expect(result.statusCode).toBe(200)
    expect(header(result, 'content-type')).toMatch(/^text\/html/)
    expect(result.body).toContain('action="/register"')
    expect(result.body).toMatch(/At least 15 characters/)
  })
})
