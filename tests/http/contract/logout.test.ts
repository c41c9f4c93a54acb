// The HTTP contract (docs/api.md), POST /logout: real requests on a real port through the Express
// adapter, against the first database kind (what differs by database: tests/http/databases.test.ts).
import { describe, expect, it } from 'vitest'
import { CookieJar, jwtParts, parseSetCookie } from '../../helpers/http.ts'
import { expectProblem } from '../../helpers/expect.ts'
import { strongPassword } from '../../helpers/factories.ts'
import { useSecurityService } from '../../helpers/accounts.ts'

const s = useSecurityService()

describe('POST /logout', () => {
  it('JSON: 204, and the same token is refused afterwards although it has not expired', async () => {
    const account = await s.register('Out')
    const token = await s.apiLogin(account)
    const reply = await s.http.postJson('/logout', {}, { bearer: token })
    expect(reply.status).toBe(204)
    expect(jwtParts(token).payload.exp * 1000).toBeGreaterThan(Date.now())
    expectProblem(await s.http.getJson(`/dashboard/${account.username}`, { bearer: token }), 401, 'unauthorized')
    expectProblem(
      await s.http.postJson(
        '/password',
        { current_password: account.password, new_password: strongPassword() },
        { bearer: token },
      ),
      401,
      'unauthorized',
    )
  })

  it('form: 303 to /, the cookie cleared, and the old cookie no longer opens the dashboard', async () => {
    const account = await s.register('outform')
    const jar = await s.browserLogin(account)
    const token = jar.get('session')!
    const reply = await s.http.postForm('/logout', {}, { jar })
    expect(reply.status).toBe(303)
    expect(reply.location).toBe('/')
    const cleared = reply.setCookies.map(parseSetCookie).find((c) => c.name === 'session')
    expect(cleared).toMatchObject({ value: '', attributes: { 'max-age': '0', path: '/', httponly: '' } })
    expect(jar.get('session')).toBeUndefined()
    const page = await s.http.getHtml('/', { jar })
    expect(page.text).toContain('You are signed out')
    const replayed = new CookieJar()
    replayed.cookies.set('session', token)
    const dashboard = await s.http.getHtml(`/dashboard/${account.username}`, { jar: replayed })
    expect(dashboard.status).toBe(303)
    expect(dashboard.location).toBe('/')
  })

  it('without a session, and twice: the same answers (idempotent)', async () => {
    expect((await s.http.postJson('/logout', {})).status).toBe(204)
    const form = await s.http.postForm('/logout', {})
    expect(form.status).toBe(303)
    expect(form.location).toBe('/')
    const account = await s.register('outtwice')
    const token = await s.apiLogin(account)
    expect((await s.http.postJson('/logout', {}, { bearer: token })).status).toBe(204)
    expect((await s.http.postJson('/logout', {}, { bearer: token })).status).toBe(204)
  })
})
