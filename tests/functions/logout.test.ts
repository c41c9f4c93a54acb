import { describe, expect, it } from 'vitest'
import jwt from 'jsonwebtoken'
import { handler } from '#functions/logout.ts'
import { handler as dashboardHandler } from '#functions/dashboard.ts'
import { invoke } from '../helpers/events.ts'
import {
  bearer,
  header,
  invokeLocal,
  JSON_ACCEPT,
  OWN_ORIGIN,
  setCookie,
  signedInUser,
  signIn,
  useRuntime,
} from '../helpers/handlers.ts'
import { expectProblem } from '../helpers/expect.ts'

const runtime = useRuntime()

const dashboard = (username: string, token: string) =>
  invoke(dashboardHandler, {
    path: `/dashboard/${username}`,
    pathParameters: { username },
    headers: { ...JSON_ACCEPT, ...bearer(token) },
  })
const revokedAt = async (token: string) =>
  (
    await runtime().db.one('SELECT revoked_at AS "revokedAt" FROM sessions WHERE id = $1', [
      (jwt.decode(token) as jwt.JwtPayload).jti,
    ])
  ).revokedAt

describe('POST /logout with JSON', () => {
  it('answers 204 and the token is refused afterwards, though its exp has not passed', async () => {
    const user = await signedInUser()
    const result = await invoke(handler, { path: '/logout', json: {}, headers: bearer(user.token) })
    expect(result.statusCode).toBe(204)
    expect(result.body ?? '').toBe('')
    expect(await revokedAt(user.token)).toBeInstanceOf(Date)
    expect((jwt.decode(user.token) as jwt.JwtPayload).exp! * 1000).toBeGreaterThan(Date.now())
    expectProblem(await dashboard(user.username, user.token), 401, 'unauthorized')
  })

  it('ends only the session it was sent with', async () => {
    const user = await signedInUser()
    const other = await signIn(user.username, user.password)
    expect((await invoke(handler, { path: '/logout', json: {}, headers: bearer(user.token) })).statusCode).toBe(204)
    expect((await dashboard(user.username, other)).statusCode).toBe(200)
    expect(await revokedAt(other)).toBeNull()
  })

  it('answers 204 again for an already revoked token, keeping the first revocation time', async () => {
    const user = await signedInUser()
    await invoke(handler, { path: '/logout', json: {}, headers: bearer(user.token) })
    const first = await revokedAt(user.token)
    const again = await invoke(handler, { path: '/logout', json: {}, headers: bearer(user.token) })
    expect(again.statusCode).toBe(204)
    expect(await revokedAt(user.token)).toEqual(first)
  })

  it.each([
    ['no session', {}],
    ['a garbage token', bearer('garbage')],
  ])('answers 204 with %s (idempotent)', async (_, headers) => {
    const result = await invoke(handler, { path: '/logout', json: {}, headers })
    expect(result.statusCode).toBe(204)
  })

  it('answers 204 to a POST with no body at all', async () => {
    const user = await signedInUser()
    const result = await invoke(handler, {
      method: 'POST',
      path: '/logout',
      headers: { ...JSON_ACCEPT, ...bearer(user.token) },
    })
    expect(result.statusCode).toBe(204)
    expectProblem(await dashboard(user.username, user.token), 401, 'unauthorized')
  })
})

describe('POST /logout with a form', () => {
  it('revokes the session, clears both cookie names over HTTPS and answers 303 to /', async () => {
    const user = await signedInUser()
    const result = await invoke(handler, {
      path: '/logout',
      form: {},
      cookies: [`__Host-session=${user.token}`],
      headers: { origin: OWN_ORIGIN },
    })
    expect(result.statusCode).toBe(303)
    expect(header(result, 'location')).toBe('/')
    expect(setCookie(result, '__Host-session')).toMatch(/Max-Age=0/i)
    expect(setCookie(result, '__Host-session')).toMatch(/Secure/i)
    expect(setCookie(result, 'session')).toMatch(/Max-Age=0/i)
    expect(setCookie(result, '__Host-notice')).toMatch(/^__Host-notice=signed_out;.*Secure/i)
    expectProblem(await dashboard(user.username, user.token), 401, 'unauthorized')
  })

  it('over plain HTTP clears the session cookie without Secure', async () => {
    const user = await signedInUser()
    const result = await invokeLocal(handler, {
      path: '/logout',
      form: { x: '1' },
      cookies: [`session=${user.token}`],
      headers: { origin: 'http://192.168.1.20:8085' },
    })
    expect(result.statusCode).toBe(303)
    expect(header(result, 'location')).toBe('/')
    const cleared = setCookie(result, 'session')
    expect(cleared).toMatch(/^session=;/)
    expect(cleared).toMatch(/Max-Age=0/i)
    expect(cleared).not.toMatch(/Secure/i)
    expect(setCookie(result, '__Host-session')).toBeUndefined()
    expectProblem(await dashboard(user.username, user.token), 401, 'unauthorized')
  })

  it('answers the same 303 to / and clears the cookie without a session', async () => {
    const result = await invoke(handler, { path: '/logout', form: { x: '1' }, headers: { origin: OWN_ORIGIN } })
    expect(result.statusCode).toBe(303)
    expect(header(result, 'location')).toBe('/')
    expect(setCookie(result, '__Host-session')).toMatch(/Max-Age=0/i)
  })

  it('answers the same 303 to / with a garbage session cookie', async () => {
    const result = await invoke(handler, {
      path: '/logout',
      form: { x: '1' },
      cookies: ['__Host-session=garbage'],
      headers: { origin: OWN_ORIGIN },
    })
    expect(result.statusCode).toBe(303)
    expect(header(result, 'location')).toBe('/')
  })
})
