import { beforeAll, describe, expect, it } from 'vitest'
import jwt from 'jsonwebtoken'
import { handler } from '#functions/dashboard.ts'
import { handler as logoutHandler } from '#functions/logout.ts'
import { handler as indexHandler } from '#functions/index.ts'
import { findUserByUsername } from '#lib/auth/users.ts'
import { readFileSync } from 'node:fs'
import os from 'node:os'
import { invoke, jsonBody } from '../helpers/events.ts'
import { uniqueUsername } from '../helpers/factories.ts'
import { bearer, header, HTML, JSON_ACCEPT, OWN_ORIGIN, setCookie, signedInUser, signIn } from '../helpers/handlers.ts'
import { expectProblem, expectNoSecrets } from '../helpers/expect.ts'
import { useService } from '../helpers/service.ts'

const service = useService({ transport: 'lambda' })

type Account = Awaited<ReturnType<typeof signedInUser>>
const dashboardOf = (username: string, input: Parameters<typeof invoke>[1] = {}) =>
  invoke(handler, { path: `/dashboard/${username}`, pathParameters: { username }, ...input })
const jtiOf = (token: string) => (jwt.decode(token) as jwt.JwtPayload).jti as string

// read-only tests share one account; tests that end or age a session make their own
let alice: Account
let bob: Account
beforeAll(async () => {
  alice = await signedInUser()
  bob = await signedInUser()
})

describe('GET /dashboard/<username> as JSON', () => {
  it('answers 200 with the user and when the session expires, given a Bearer token', async () => {
    const result = await dashboardOf(alice.username, { headers: { ...JSON_ACCEPT, ...bearer(alice.token) } })
    expect(result.statusCode).toBe(200)
    const body = jsonBody(result)
    expect(body.user).toMatchObject({
      id: alice.id,
      username: alice.username,
      created_at: expect.any(String),
      last_login_time: expect.any(String),
    })
    const exp = (jwt.decode(alice.token) as jwt.JwtPayload).exp!
    expect(body.session.expires_at).toBe(new Date(exp * 1000).toISOString())
    expect(header(result, 'cache-control')).toBe('no-store')
    expectNoSecrets(result, [alice.password, alice.token])
  })

  it('accepts the dashboard name in another letter case', async () => {
    const result = await dashboardOf(alice.username.toUpperCase(), {
      headers: { ...JSON_ACCEPT, ...bearer(alice.token) },
    })
    expect(result.statusCode).toBe(200)
    expect(jsonBody(result).user.username).toBe(alice.username)
  })

  it.each([
    ['API Gateway cookies, __Host-session', () => ({ cookies: [`__Host-session=${alice.token}`] })],
    ['API Gateway cookies, session', () => ({ cookies: ['theme=dark', `session=${alice.token}`] })],
    ['a Cookie header, __Host-session', () => ({ headers: { cookie: `__Host-session=${alice.token}` } })],
    ['a Cookie header, session', () => ({ headers: { cookie: `theme=dark; session=${alice.token}` } })],
  ])('accepts the session from %s', async (_, input) => {
    const given = input() as { cookies?: string[]; headers?: Record<string, string> }
    const result = await dashboardOf(alice.username, { ...given, headers: { ...JSON_ACCEPT, ...given.headers } })
    expect(result.statusCode).toBe(200)
    expect(jsonBody(result).user.id).toBe(alice.id)
  })

  it('prefers the Bearer token over a stale cookie', async () => {
    const result = await dashboardOf(alice.username, {
      headers: { ...JSON_ACCEPT, ...bearer(alice.token) },
      cookies: ['session=not-a-token'],
    })
    expect(result.statusCode).toBe(200)
  })

  const otherSecret = () =>
    jwt.sign(
      {
        sub: alice.id,
        preferred_username: alice.username,
        jti: jtiOf(alice.token),
        iss: 'gateway-auth',
        aud: 'gateway-auth',
      },
      'another secret that is long enough to sign',
      { algorithm: 'HS256', expiresIn: 600 },
    )
  const unknownJti = () =>
    jwt.sign(
      {
        sub: alice.id,
        preferred_username: alice.username,
        jti: 'no-such-session-aaaaaaaaaaaa',
        iss: 'gateway-auth',
        aud: 'gateway-auth',
      },
      service.runtime.jwtSecret,
      { algorithm: 'HS256', expiresIn: 600 },
    )
  const otherSub = () =>
    jwt.sign(
      {
        sub: bob.id,
        preferred_username: bob.username,
        jti: jtiOf(alice.token),
        iss: 'gateway-auth',
        aud: 'gateway-auth',
      },
      service.runtime.jwtSecret,
      { algorithm: 'HS256', expiresIn: 600 },
    )

  it.each([
    ['no token at all', () => ({})],
    ['a garbage Bearer token', () => bearer('garbage.token.value')],
    ['a garbage session cookie', () => ({ cookie: 'session=garbage' })],
    ['an empty Bearer', () => ({ authorization: 'Bearer ' })],
    ['a token signed with another secret', () => bearer(otherSecret())],
    ['a well-signed token whose session does not exist', () => bearer(unknownJti())],
    ['a well-signed token naming another user for this session', () => bearer(otherSub())],
  ])('refuses %s with 401 unauthorized', async (_, headers) => {
    const given = headers() as Record<string, string>
    const result = await dashboardOf(alice.username, { headers: { ...JSON_ACCEPT, ...given } })
    expectProblem(result, 401, 'unauthorized')
    expectNoSecrets(result, [alice.token])
    expect(result.body).not.toContain(alice.username)
  })

  it("refuses another user's dashboard with 403 forbidden", async () => {
    const result = await dashboardOf(bob.username, { headers: { ...JSON_ACCEPT, ...bearer(alice.token) } })
    expectProblem(result, 403, 'forbidden')
    expect(result.body).not.toContain(bob.id)
    expectNoSecrets(result, [alice.token, bob.token])
  })

  it('refuses an unknown name with 403 forbidden while logged in, as for an existing one', async () => {
    const result = await dashboardOf(uniqueUsername('nobody'), { headers: { ...JSON_ACCEPT, ...bearer(alice.token) } })
    expectProblem(result, 403, 'forbidden')
  })
})

describe('GET /dashboard/<username> as HTML', () => {
  it('shows the username, creation time, last login time and session expiry, not cached', async () => {
    const result = await dashboardOf(alice.username, { headers: HTML, cookies: [`__Host-session=${alice.token}`] })
    expect(result.statusCode).toBe(200)
    expect(header(result, 'content-type')).toMatch(/^text\/html/)
    expect(header(result, 'cache-control')).toBe('no-store')
    const user = (await findUserByUsername(service.runtime.db, alice.username))!
    const exp = new Date((jwt.decode(alice.token) as jwt.JwtPayload).exp! * 1000)
    expect(result.body).toContain(`<span class="username">${alice.username}</span>`)
    for (const time of [user.createdAt, user.lastLoginTime!, exp]) {
      expect(result.body).toContain(`datetime="${time.toISOString()}"`)
      expect(result.body).toContain(
        time
          .toISOString()
          .replace('T', ' ')
          .replace(/\.\d+Z$/, ' UTC'),
      )
    }
    expect(result.body).toContain('action="/logout"')
    expect(result.body).toContain('action="/password"')
    expectNoSecrets(result, [alice.password, alice.token])
  })

  it.each([
    ['no session', () => ({})],
    ['a garbage cookie', () => ({ cookies: ['session=garbage'] })],
  ])('sends the browser with %s to / with 303', async (_, input) => {
    const result = await dashboardOf(alice.username, { headers: HTML, ...input() })
    expect(result.statusCode).toBe(303)
    expect(header(result, 'location')).toBe('/')
    expect(setCookie(result, '__Host-notice')).toBeUndefined()
    expect(result.body ?? '').not.toContain(alice.username)
  })

  it('sends the browser to / when the name is unknown and nobody is logged in', async () => {
    const result = await dashboardOf(uniqueUsername('nobody'), { headers: HTML })
    expect(result.statusCode).toBe(303)
    expect(header(result, 'location')).toBe('/')
  })

  it("answers 403 with an HTML page for another user's dashboard, without their data", async () => {
    const result = await dashboardOf(bob.username, { headers: HTML, cookies: [`__Host-session=${alice.token}`] })
    expect(result.statusCode).toBe(403)
    expect(header(result, 'content-type')).toMatch(/^text\/html/)
    expect(result.body).toMatch(/Forbidden/)
    expect(result.body).not.toContain(bob.username)
    // the way out is the user's own dashboard
    expect(result.body).toContain(`<a class="button" href="/dashboard/${alice.username}">Go to your dashboard</a>`)
  })

  it('escapes a requested name it does not recognise instead of reflecting markup', async () => {
    const name = '<img src=x onerror=alert(1)>'
    const result = await dashboardOf(name, { headers: HTML, cookies: [`__Host-session=${alice.token}`] })
    expect(result.statusCode).toBe(403)
    expect(result.body).not.toContain('<img src=x')
  })
})

describe('an ended session on the dashboard', () => {
  const age = (token: string, sql: string) =>
    service.runtime.db.none(`UPDATE sessions SET ${sql} WHERE id = $1`, [jtiOf(token)])

  it('is refused with 401 session_expired once the session row has expired', async () => {
    const carol = await signedInUser()
    await age(carol.token, `created_at = created_at - interval '2 hours', expires_at = now() - interval '1 second'`)
    const result = await dashboardOf(carol.username, { headers: { ...JSON_ACCEPT, ...bearer(carol.token) } })
    expectProblem(result, 401, 'session_expired')
  })

  it('is expired once more than the TTL has passed since the login, even before the token exp', async () => {
    const dave = await signedInUser()
    expect((await dashboardOf(dave.username, { headers: { ...JSON_ACCEPT, ...bearer(dave.token) } })).statusCode).toBe(
      200,
    )
    await age(dave.token, `created_at = created_at - interval '3601 seconds'`)
    const result = await dashboardOf(dave.username, { headers: { ...JSON_ACCEPT, ...bearer(dave.token) } })
    expectProblem(result, 401, 'session_expired')
  })

  it('is refused with 401 session_expired when the token itself has expired', async () => {
    const erin = await signedInUser()
    const claims = jwt.decode(erin.token) as jwt.JwtPayload
    const stale = jwt.sign({ ...claims, iat: claims.iat! - 7200, exp: claims.iat! - 3600 }, service.runtime.jwtSecret, {
      algorithm: 'HS256',
    })
    const result = await dashboardOf(erin.username, { headers: { ...JSON_ACCEPT, ...bearer(stale) } })
    expectProblem(result, 401, 'session_expired')
  })

  it('sends the browser to / with a notice, and the login page then says the session expired', async () => {
    const frank = await signedInUser()
    await age(frank.token, `created_at = created_at - interval '2 hours', expires_at = now() - interval '1 second'`)
    const result = await dashboardOf(frank.username, { headers: HTML, cookies: [`__Host-session=${frank.token}`] })
    expect(result.statusCode).toBe(303)
    expect(header(result, 'location')).toBe('/')
    const notice = setCookie(result, '__Host-notice')
    expect(notice).toBeDefined()
    // the dead session cookie is cleared as well
    expect(setCookie(result, '__Host-session')).toMatch(/Max-Age=0/i)
    const page = await invoke(indexHandler, { path: '/', headers: HTML, cookies: [notice!.split(';')[0]!] })
    expect(page.statusCode).toBe(200)
    expect(page.body).toMatch(/session expired/i)
  })

  it('is refused with 401 unauthorized after logout, though its exp has not passed', async () => {
    const gina = await signedInUser()
    const logout = await invoke(logoutHandler, {
      path: '/logout',
      json: {},
      headers: { ...bearer(gina.token), origin: OWN_ORIGIN },
    })
    expect(logout.statusCode).toBe(204)
    const claims = jwt.decode(gina.token) as jwt.JwtPayload
    expect(claims.exp! * 1000).toBeGreaterThan(Date.now())
    const result = await dashboardOf(gina.username, { headers: { ...JSON_ACCEPT, ...bearer(gina.token) } })
    expectProblem(result, 401, 'unauthorized')
    const html = await dashboardOf(gina.username, { headers: HTML, cookies: [`__Host-session=${gina.token}`] })
    expect(html.statusCode).toBe(303)
    expect(header(html, 'location')).toBe('/')
  })
})

describe('the gateway card', () => {
  it('JSON: the machine, its storage, the database and the service, as this process sees them', async () => {
    const result = await dashboardOf(alice.username, { headers: { ...JSON_ACCEPT, ...bearer(alice.token) } })
    const { gateway } = jsonBody(result)
    expect(gateway.hostname).toBe(os.hostname())
    expect(gateway.cpu.count).toBe(os.cpus().length)
    expect(gateway.memory.total_bytes).toBe(os.totalmem())
    expect(gateway.memory.used_bytes).toBeGreaterThan(0)
    expect(gateway.memory.used_bytes).toBeLessThan(gateway.memory.total_bytes)
    expect(gateway.load_average).toHaveLength(3)
    expect(Math.abs(gateway.uptime_seconds - os.uptime())).toBeLessThan(30)
    expect(gateway.disk.free_bytes).toBeGreaterThan(0)
    expect(gateway.disk.free_bytes).toBeLessThanOrEqual(gateway.disk.total_bytes)
    expect(gateway.database).toEqual({
      kind: service.runtime.config.database.url ? 'server' : 'embedded',
      healthy: true,
      size_bytes: expect.any(Number),
    })
    // a fresh PostgreSQL database is several MB; the size is read from the server, not made up
    const { size } = await service.runtime.db.one('SELECT pg_database_size(current_database())::float8 AS size')
    expect(gateway.database.size_bytes).toBeGreaterThan(1e6)
    expect(Math.abs(gateway.database.size_bytes - size)).toBeLessThan(size / 2)
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'))
    expect(gateway.service).toMatchObject({ version: pkg.version, node_version: process.versions.node })
    expect(gateway.balena).toBeNull()
  })

  it('HTML: one verdict line, then hostname, memory, storage, database and versions', async () => {
    const result = await dashboardOf(alice.username, { headers: HTML, cookies: [`session=${alice.token}`] })
    expect(result.body).toMatch(
      /<p class="status (ok|warn|bad)">.*(Gateway and service are healthy\.|Needs attention: )/,
    )
    expect(result.body).toContain(`<dd>${os.hostname()}`)
    expect(result.body).toMatch(/<dt>Memory<\/dt>\s*<dd>[\d.]+ [kMG]?B of [\d.]+ [MGT]B/)
    expect(result.body).toMatch(/<dt>Storage<\/dt>\s*<dd>[\d.]+ [kMGT]?B free of/)
    expect(result.body).toMatch(/<dt>Database<\/dt>\s*<dd>(Embedded PostgreSQL|PostgreSQL server), healthy/)
    expect(result.body).toContain(`Node.js ${process.versions.node}`)
  })

  it('reads the machine once for a burst of requests: the second within 5 s gets the same reading', async () => {
    const first = jsonBody(await dashboardOf(alice.username, { headers: { ...JSON_ACCEPT, ...bearer(alice.token) } }))
    const second = jsonBody(await dashboardOf(alice.username, { headers: { ...JSON_ACCEPT, ...bearer(alice.token) } }))
    expect(Date.now() - Date.parse(second.gateway.read_at)).toBeLessThan(5_000)
    if (Date.now() - Date.parse(first.gateway.read_at) < 4_000)
      expect(second.gateway.read_at).toBe(first.gateway.read_at)
  })
})

describe('the sign-in before this one', () => {
  it('is recorded with each sign-in: the previous last_login_time moves to previous_login_time', async () => {
    const carol = await signedInUser()
    const first = (await findUserByUsername(service.runtime.db, carol.username))!
    expect(first.previousLoginTime).toBeNull()
    const again = await signIn(carol.username, carol.password)
    const second = (await findUserByUsername(service.runtime.db, carol.username))!
    expect(second.previousLoginTime?.toISOString()).toBe(first.lastLoginTime!.toISOString())
    expect(second.lastLoginTime!.getTime()).toBeGreaterThanOrEqual(first.lastLoginTime!.getTime())

    const body = jsonBody(await dashboardOf(carol.username, { headers: { ...JSON_ACCEPT, ...bearer(again) } }))
    expect(body.user.previous_login_time).toBe(first.lastLoginTime!.toISOString())
    expect(body.session.signed_in_at).toBe(new Date((jwt.decode(again) as jwt.JwtPayload).iat! * 1000).toISOString())
    const page = await dashboardOf(carol.username, { headers: HTML, cookies: [`session=${again}`] })
    expect(page.body).toMatch(
      new RegExp(`<dt>Sign-in before</dt><dd><time datetime="${first.lastLoginTime!.toISOString()}"`),
    )
  })

  it('a session older than the newest sign-in says a newer one happened, rather than naming the one before', async () => {
    const dave = await signedInUser()
    await new Promise((resolve) => setTimeout(resolve, 1_100))
    await signIn(dave.username, dave.password)
    const page = await dashboardOf(dave.username, { headers: HTML, cookies: [`session=${dave.token}`] })
    expect(page.body).toContain('<dt>Newer sign-in</dt>')
    expect(page.body).not.toContain('<dt>Sign-in before</dt>')
  })
})
