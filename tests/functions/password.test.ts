import { beforeAll, describe, expect, it } from 'vitest'
import { handler } from '#functions/password.ts'
import { handler as dashboardHandler } from '#functions/dashboard.ts'
import { handler as loginHandler } from '#functions/login.ts'
import { findUserByUsername } from '#lib/auth/users.ts'
import { invoke } from '../helpers/events.ts'
import { strongPassword } from '../helpers/factories.ts'
import { bearer, header, HTML, JSON_ACCEPT, OWN_ORIGIN, setCookie, signedInUser, signIn } from '../helpers/handlers.ts'
import { expectProblem, expectNoSecrets } from '../helpers/expect.ts'
import { useService } from '../helpers/service.ts'

const service = useService({ transport: 'lambda' })

const dashboard = (username: string, token: string) =>
  invoke(dashboardHandler, {
    path: `/dashboard/${username}`,
    pathParameters: { username },
    headers: { ...JSON_ACCEPT, ...bearer(token) },
  })
const change = (token: string, json: unknown) => invoke(handler, { path: '/password', json, headers: bearer(token) })

// an account whose password is never changed, for the refusal tests
let shared: Awaited<ReturnType<typeof signedInUser>>
beforeAll(async () => {
  shared = await signedInUser()
})

describe('POST /password with JSON', () => {
  it('answers 204, revokes the other sessions, keeps this one, and only the new password signs in', async () => {
    const user = await signedInUser()
    const other = await signIn(user.username, user.password)
    const newPassword = strongPassword()
    const result = await change(user.token, { current_password: user.password, new_password: newPassword })
    expect(result.statusCode).toBe(204)
    expect(result.body ?? '').toBe('')

    expect((await dashboard(user.username, user.token)).statusCode).toBe(200)
    expectProblem(await dashboard(user.username, other), 401, 'unauthorized')

    const withOld = await invoke(loginHandler, {
      path: '/login',
      json: { username: user.username, password: user.password },
    })
    expectProblem(withOld, 401, 'invalid_credentials')
    const withNew = await invoke(loginHandler, {
      path: '/login',
      json: { username: user.username, password: newPassword },
    })
    expect(withNew.statusCode).toBe(200)
  })

  it('does not touch the sessions of other users', async () => {
    const [user, bystander] = [await signedInUser(), await signedInUser()]
    expect(
      (await change(user.token, { current_password: user.password, new_password: strongPassword() })).statusCode,
    ).toBe(204)
    expect((await dashboard(bystander.username, bystander.token)).statusCode).toBe(200)
  })

  it('refuses a wrong current password with 400 validation_failed on current_password, changing nothing', async () => {
    const before = (await findUserByUsername(service.runtime.db, shared.username))!.passwordHash
    const wrong = `${shared.password}x`
    const newPassword = strongPassword()
    const result = await change(shared.token, { current_password: wrong, new_password: newPassword })
    const body = expectProblem(result, 400, 'validation_failed')
    expect(body.errors).toEqual([{ field: 'current_password', message: expect.any(String) }])
    expectNoSecrets(result, [wrong, newPassword, shared.password])
    expect((await findUserByUsername(service.runtime.db, shared.username))!.passwordHash).toBe(before)
  })

  const breaking: [string, (u: { username: string; password: string }) => Record<string, unknown>, string][] = [
    [
      'a new password of 14 characters',
      (u) => ({ current_password: u.password, new_password: 'harbor lantern' }),
      'new_password',
    ],
    [
      'a new password over 72 bytes',
      (u) => ({ current_password: u.password, new_password: '🔑'.repeat(19) }),
      'new_password',
    ],
    [
      'a common new password',
      (u) => ({ current_password: u.password, new_password: 'passwordpassword' }),
      'new_password',
    ],
    [
      'a new password containing the username',
      (u) => ({ current_password: u.password, new_password: `x ${u.username.toUpperCase()} quartz` }),
      'new_password',
    ],
    ['the current password again', (u) => ({ current_password: u.password, new_password: u.password }), 'new_password'],
    ['a missing new password', (u) => ({ current_password: u.password }), 'new_password'],
    ['a missing current password', () => ({ new_password: strongPassword() }), 'current_password'],
    [
      'a current password over 72 bytes',
      () => ({ current_password: 'z'.repeat(73), new_password: strongPassword() }),
      'current_password',
    ],
    [
      'a number as new password',
      (u) => ({ current_password: u.password, new_password: 1234567890123456 }),
      'new_password',
    ],
  ]
  it.each(breaking)('refuses %s with 400 validation_failed and keeps the old password', async (_, build, field) => {
    const before = (await findUserByUsername(service.runtime.db, shared.username))!.passwordHash
    const json = build(shared)
    const result = await change(shared.token, json)
    const body = expectProblem(result, 400, 'validation_failed')
    expect(body.errors.map((e: { field: string }) => e.field)).toContain(field)
    expectNoSecrets(result, [shared.password, typeof json.new_password === 'string' ? json.new_password : ''])
    expect((await findUserByUsername(service.runtime.db, shared.username))!.passwordHash).toBe(before)
    // the session survives a refused change
    expect((await dashboard(shared.username, shared.token)).statusCode).toBe(200)
  })

  it.each([
    ['no session', {}],
    ['a garbage token', bearer('garbage')],
  ])('refuses %s with 401 unauthorized', async (_, headers) => {
    const result = await invoke(handler, {
      path: '/password',
      json: { current_password: 'a', new_password: strongPassword() },
      headers,
    })
    expectProblem(result, 401, 'unauthorized')
  })
})

describe('POST /password with a form', () => {
  it('answers 303 to the dashboard, which then says the password was changed', async () => {
    const user = await signedInUser()
    const cookie = `__Host-session=${user.token}`
    const result = await invoke(handler, {
      path: '/password',
      form: { current_password: user.password, new_password: strongPassword() },
      cookies: [cookie],
      headers: { origin: OWN_ORIGIN },
    })
    expect(result.statusCode).toBe(303)
    expect(header(result, 'location')).toBe(`/dashboard/${user.username}`)
    const notice = setCookie(result, '__Host-notice')
    expect(notice).toBeDefined()
    const page = await invoke(dashboardHandler, {
      path: `/dashboard/${user.username}`,
      pathParameters: { username: user.username },
      headers: HTML,
      cookies: [cookie, notice!.split(';')[0]!],
    })
    expect(page.statusCode).toBe(200)
    expect(page.body).toMatch(/password was changed/i)
  })

  it('re-renders the dashboard with 400 for a wrong current password, never echoing either password', async () => {
    const wrong = `${shared.password}x`
    const newPassword = strongPassword()
    const result = await invoke(handler, {
      path: '/password',
      form: { current_password: wrong, new_password: newPassword },
      cookies: [`__Host-session=${shared.token}`],
      headers: { origin: OWN_ORIGIN },
    })
    expect(result.statusCode).toBe(400)
    expect(header(result, 'content-type')).toMatch(/^text\/html/)
    expect(result.body).toContain(`<span class="username">${shared.username}</span>`)
    expect(result.body).toMatch(/current password is wrong/i)
    expect(result.body).toMatch(/<details class="change-password" open>/)
    expectNoSecrets(result, [wrong, newPassword, shared.password, shared.token])
  })

  it('sends a browser without a session to / with 303', async () => {
    const result = await invoke(handler, {
      path: '/password',
      form: { current_password: 'whatever', new_password: strongPassword() },
      headers: { origin: OWN_ORIGIN },
    })
    expect(result.statusCode).toBe(303)
    expect(header(result, 'location')).toBe('/')
  })
})
