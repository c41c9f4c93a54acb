import { describe, expect, it } from 'vitest'
import jwt from 'jsonwebtoken'
import { handler } from '#functions/end-sessions.ts'
import { handler as dashboardHandler } from '#functions/dashboard.ts'
import { sessionHandle } from '#lib/auth/sessions.ts'
import { invoke, jsonBody } from '../helpers/events.ts'
import { bearer, header, HTML, JSON_ACCEPT, OWN_ORIGIN, setCookie, signedInUser, signIn } from '../helpers/handlers.ts'
import { expectProblem } from '../helpers/expect.ts'
import { useService } from '../helpers/service.ts'

const service = useService({ transport: 'lambda' })

const jti = (token: string) => (jwt.decode(token) as jwt.JwtPayload).jti as string
const dashboard = (username: string, token: string, headers: Record<string, string> = JSON_ACCEPT) =>
  invoke(dashboardHandler, {
    path: `/dashboard/${username}`,
    pathParameters: { username },
    headers: { ...headers, ...bearer(token) },
  })
const end = (token: string, session: string) =>
  invoke(handler, { path: '/sessions/end', json: { session }, headers: bearer(token) })
const revoked = async (token: string) =>
  (await service.runtime.db.one('SELECT revoked_at FROM sessions WHERE id = $1', [jti(token)])).revoked_at !== null

describe('POST /sessions/end', () => {
  it('ends the one session named by its handle and no other', async () => {
    const user = await signedInUser()
    const [second, third] = [await signIn(user.username, user.password), await signIn(user.username, user.password)]
    expect((await end(user.token, sessionHandle(jti(second)))).statusCode).toBe(204)
    expect([await revoked(second), await revoked(third), await revoked(user.token)]).toEqual([true, false, false])
  })

  it('ends every other session with "others", keeping the one asking', async () => {
    const user = await signedInUser()
    const others = [await signIn(user.username, user.password), await signIn(user.username, user.password)]
    expect((await end(user.token, 'others')).statusCode).toBe(204)
    expect(await Promise.all(others.map(revoked))).toEqual([true, true])
    const listed = jsonBody(await dashboard(user.username, user.token)).sessions
    expect(listed).toEqual([expect.objectContaining({ id: sessionHandle(jti(user.token)), current: true })])
  })

  it('refuses an unknown handle, an ended session and its own with 400 on session, ending nothing', async () => {
    const user = await signedInUser()
    const second = await signIn(user.username, user.password)
    await end(user.token, sessionHandle(jti(second)))
    for (const session of ['not-a-handle', sessionHandle(jti(second)), sessionHandle(jti(user.token)), '']) {
      const body = expectProblem(await end(user.token, session), 400, 'validation_failed')
      expect(body.errors).toEqual([{ field: 'session', message: expect.any(String) }])
    }
    expect(await revoked(user.token)).toBe(false)
  })

  it('from the dashboard form: 303 back to it with a Secure notice over HTTPS', async () => {
    const user = await signedInUser()
    const result = await invoke(handler, {
      path: '/sessions/end',
      form: { session: 'others' },
      headers: { origin: OWN_ORIGIN, ...bearer(user.token) },
    })
    expect(result.statusCode).toBe(303)
    expect(header(result, 'location')).toBe(`/dashboard/${user.username}`)
    expect(setCookie(result, '__Host-notice')).toMatch(/^__Host-notice=sessions_ended;.*Secure/i)
    const page = await dashboard(user.username, user.token, HTML)
    expect(page.body).toContain('Signed-in sessions')
    expect(page.body).toContain('this session')
  })

  it('without a session: 401 unauthorized', async () => {
    expectProblem(
      await invoke(handler, { path: '/sessions/end', json: { session: 'others' }, headers: JSON_ACCEPT }),
      401,
      'unauthorized',
    )
  })
})
