// ASVS 5.0 V15 Secure Coding and Architecture, Level 1 and 2. Black box over HTTP against the first
// database kind, except where the requirement is about what ships (the lockfile, the image).
// The client-address test (15.3.4) runs two services one after the other — without and with
// TRUST_PROXY — since a process holds one runtime at a time.
import { readFile } from 'node:fs/promises'
import { describe, expect, it } from 'vitest'
import { strongPassword, uniqueUsername } from '../helpers/factories.ts'
import { CookieJar, jwtParts, parseSetCookie, type Reply, rawExchange, statusLines } from '../helpers/http.ts'

import { expectProblem } from '../helpers/expect.ts'
import { startService, useService, credentialsOf, LOOSE_THROTTLE, type TestService } from '../helpers/service.ts'
import { filesTheCodeNeeds, topLevelOf } from '../deploy/code-files.ts'

const root = (file: string) => new URL(`../../${file}`, import.meta.url)

/** 400 validation_failed whose errors name exactly `fields`. */
function expectInvalid(reply: Reply, fields: string[]) {
  expectProblem(reply, 400, 'validation_failed')
  expect((reply.json.errors as { field: string }[]).map((e) => e.field).sort(), reply.text).toEqual([...fields].sort())
}

const loginAs = (s: TestService, account: { username: string; password: string }, headers?: Record<string, string>) =>
  s.http.postJson('/login', { username: account.username, password: account.password }, { headers })

describe('V15.1 Secure coding and architecture documentation', () => {
  it('15.1.2 keeps an inventory of every third-party package: exact versions, all from the npm registry, with hashes', async () => {
    const manifest = JSON.parse(await readFile(root('package.json'), 'utf8'))
    const lock = JSON.parse(await readFile(root('package-lock.json'), 'utf8'))
    // a range would let a fresh install pull a release nobody reviewed; CI installs with `npm ci`
    for (const section of ['dependencies', 'devDependencies', 'optionalDependencies']) {
      for (const [name, version] of Object.entries<string>(manifest[section] ?? {})) {
        expect(version, `${name} is pinned to one version`).toMatch(/^\d+\.\d+\.\d+(-[\w.]+)?$/)
        expect(lock.packages[`node_modules/${name}`]?.version, `${name} in package-lock.json`).toBe(version)
      }
    }
    expect(lock.lockfileVersion).toBeGreaterThanOrEqual(3)
    const packages = Object.entries<{ resolved?: string; integrity?: string; link?: boolean; version?: string }>(
      lock.packages,
    ).filter(([path]) => path !== '')
    expect(packages.length).toBeGreaterThan(50)
    for (const [path, entry] of packages) {
      expect(entry.link, `${path} is no local link`).toBeUndefined()
      expect(entry.version, `${path} has a version`).toMatch(/^\d+\.\d+\.\d+/)
      expect(entry.integrity, `${path} has a sha512 hash`).toMatch(/^sha512-/)
      if (entry.resolved)
        expect(entry.resolved, `${path} comes from the registry`).toMatch(/^https:\/\/registry\.npmjs\.org\//)
    }
  })

  it('15.1.3 documents what is costly (bcrypt) and how it is bounded (cost range, throttling, body and password limits)', async () => {
    const docs = (
      await Promise.all(
        ['README.md', 'docs/api.md', 'docs/security.md', 'docs/performance.md'].map((f) => readFile(root(f), 'utf8')),
      )
    ).join('\n')
    expect(docs).toMatch(/bcrypt compare[^\n]*\d+ ms/) // measured cost of the expensive step
    expect(docs).toMatch(/BCRYPT_COST[^\n]*10–15/) // its range
    expect(docs).toMatch(/locked-out guess costs no bcrypt time/) // throttling spares it
    expect(docs).toMatch(/16 KiB/)
    expect(docs).toMatch(/72 (UTF-8 )?bytes/)
  })
})

describe('V15.2 Security architecture and dependencies', () => {
  const s = useService({ env: LOOSE_THROTTLE, captureLogs: true })

  it('15.2.2 bounds costly work: oversized bodies are refused before they are read, no bcrypt for oversized passwords', async () => {
    // a 10 MB body is announced but never sent: the answer comes at once, without waiting for it
    const started = Date.now()
    const answer = await rawExchange(
      s.baseUrl,
      'POST /register HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nAccept: application/json\r\nContent-Length: 10000000\r\n\r\n{"username":',
      3000,
    )
    expect(statusLines(answer)).toEqual([413])
    expect(answer).toMatch(/connection: close/i)
    expect(Date.now() - started).toBeLessThan(2000) // answered and closed, not left waiting for the body
    // a password past bcrypt's 72 bytes is a validation error before any hash: the login and register tables
  })

  it('15.2.3 ships and serves only the service: no test, bench, docs or source files over HTTP or in the image', async () => {
    // nothing but the routes answers over HTTP: tests/functions/not-found.test.ts (source, tests, docs, packages)
    const dockerfile = await readFile(root('Dockerfile'), 'utf8')
    // the image's COPY lines name exactly what the code imports or names beside itself (from its
    // import graph, tests/deploy/code-files.ts): no test, bench or infra code, and nothing missing;
    // and the example access rules docker-compose.yml names (ACCESS_RULES, docs/front-door.md)
    const copied = [...dockerfile.matchAll(/^COPY (?!--from)(.+)$/gm)]
      .flatMap((m) => m[1]!.trim().split(/\s+/).slice(0, -1))
      .filter((source) => source !== 'package-lock.json') // the deps stage's npm ci reads it
    const examples = ['proxy/access-rules.yml']
    expect([...new Set(copied)].sort()).toEqual([...topLevelOf(await filesTheCodeNeeds()), ...examples].sort())
    expect(dockerfile).toMatch(/npm ci --omit=dev/)
    const ignored = (await readFile(root('.dockerignore'), 'utf8')).split('\n').map((line) => line.trim())
    for (const folder of ['tests', 'bench', '.git', 'node_modules']) expect(ignored).toContain(folder)
  })
})

describe('V15.3 Defensive coding', () => {
  const s = useService({ env: LOOSE_THROTTLE, captureLogs: true })

  it('15.3.1 returns only the documented fields: no hash, no internal columns, no extra claims', async () => {
    // the register, login and dashboard tables compare whole bodies (toEqual); here what they leave open
    const account = { username: uniqueUsername('fields'), password: strongPassword() }
    const created = await s.http.postJson('/register', account)
    const login = await loginAs(s, account)
    const claims = Object.keys(jwtParts(login.json.access_token).payload).sort()
    expect(claims).toEqual(['aud', 'exp', 'iat', 'iss', 'jti', 'preferred_username', 'sub'])
    const dashboard = await s.http.getJson(`/dashboard/${account.username}`, { bearer: login.json.access_token })
    expect(Object.keys(dashboard.json.gateway).sort()).toEqual([
      'balena',
      'cpu',
      'database',
      'disk',
      'hostname',
      'load_average',
      'lorawan',
      'memory',
      'read_at',
      'service',
      'uptime_seconds',
    ])
    expect(Object.keys((await s.http.getJson('/')).json).sort()).toEqual([
      'health',
      'login',
      'openapi',
      'register',
      'service',
    ])
    expect(Object.keys((await s.http.getJson('/health')).json).sort()).toEqual(['database', 'status'])
    // the one "password" allowed: how a listed session signed in (sign_in_method)
    for (const reply of [created, login, dashboard]) {
      expect(reply.text.replaceAll('"sign_in_method":"password"', '')).not.toMatch(/password|hash|\$2[aby]\$/i)
    }
  })

  it('15.3.3 ignores fields an action does not take (mass assignment): ids, times, hashes, roles, other users', async () => {
    const before = Date.now()
    const account = { username: uniqueUsername('mass'), password: strongPassword() }
    const otherHash = '$2a$10$CwTycUXWue0Thq9StjUM0uJ8.2t8Z0nFJtq1yGq6o6J0h1q1k1x2a'
    const created = await s.http.postJson('/register', {
      ...account,
      id: '999999',
      created_at: '2000-01-01T00:00:00.000Z',
      last_login_time: '2000-01-01T00:00:00.000Z',
      password_hash: otherHash,
      passwordHash: otherHash,
      role: 'admin',
      is_admin: true,
      admin: 1,
      roles: ['admin'],
    })
    expect(created.status).toBe(201)
    expect(created.json.user.id).not.toBe('999999')
    expect(Date.parse(created.json.user.created_at)).toBeGreaterThanOrEqual(before - 1000)
    expect(created.json.user.last_login_time).toBeNull()
    expect(created.text).not.toMatch(/admin|role|2000-01-01/)
    // the password given is the one stored (not the smuggled hash), and no role came with it
    const login = await s.http.postJson('/login', {
      ...account,
      role: 'admin',
      is_admin: true,
      sub: '1',
      exp: 9999999999,
    })
    expect(login.status).toBe(200)
    expect(login.text).not.toMatch(/admin|role|9999999999/)
    expect(jwtParts(login.json.access_token).payload).not.toHaveProperty('role')
    expect(jwtParts(login.json.access_token).payload.exp).toBeLessThan(Date.now() / 1000 + 3700)

    // a password change cannot be pointed at another account by naming it
    const victim = await s.register('massvictim')
    const victimId = (await loginAs(s, victim)).json.user.id as string
    const next = strongPassword()
    const change = await s.http.postJson(
      '/password',
      {
        current_password: account.password,
        new_password: next,
        username: victim.username,
        user_id: victimId,
        id: victimId,
        sub: victimId,
      },
      { bearer: login.json.access_token },
    )
    expect(change.status).toBe(204)
    expect((await loginAs(s, victim)).status).toBe(200) // untouched
    expect((await loginAs(s, { username: account.username, password: next })).status).toBe(200)
  })

  it('15.3.5 takes each field as text only: numbers, booleans, null, arrays and objects are refused, never coerced', async () => {
    const account = await s.register('types')
    const token = (await loginAs(s, account)).json.access_token as string
    const wrongTypes: unknown[] = [
      0,
      1,
      -1,
      1e3,
      true,
      false,
      null,
      [],
      [account.password],
      {},
      { $ne: null },
      { $gt: '' },
    ]
    for (const value of wrongTypes) {
      const label = JSON.stringify(value)
      // the right username with a password that a loose comparison might accept
      expectInvalid(await s.http.postJson('/login', { username: account.username, password: value }), ['password'])
      expectInvalid(await s.http.postJson('/login', { username: value, password: account.password }), ['username'])
      expectInvalid(await s.http.postJson('/register', { username: value, password: value }), ['password', 'username'])
      const change = await s.http.postJson(
        '/password',
        { current_password: value, new_password: strongPassword() },
        { bearer: token },
      )
      expectInvalid(change, ['current_password'])
      expect(change.status, label).toBe(400)
    }
    // numeric-looking text stays text: "0" is not 0 and not false
    expectProblem(await s.http.postJson('/login', { username: '000', password: '0' }), 401, 'invalid_credentials')
    expect((await loginAs(s, account)).status).toBe(200) // nothing above changed the password
  })

  it('15.3.6 cannot be prototype-polluted: __proto__ / constructor / prototype keys in JSON and forms change nothing', async () => {
    const pollute = {
      role: 'admin',
      isAdmin: true,
      is_admin: true,
      username: 'polluted-name',
      password: 'polluted password 12345',
    }
    const jsonBodies = [
      `{"__proto__": ${JSON.stringify(pollute)}}`,
      `{"constructor": {"prototype": ${JSON.stringify(pollute)}}}`,
      `{"username": "x", "password": "y", "__proto__": {"__proto__": ${JSON.stringify(pollute)}}}`,
      `{"prototype": ${JSON.stringify(pollute)}, "__proto__": null}`,
    ]
    const forms = [
      '__proto__[role]=admin&__proto__[username]=polluted-name&__proto__[password]=polluted+password+12345',
      'constructor[prototype][role]=admin&constructor[prototype][username]=polluted-name',
      '__proto__.role=admin&__proto__=x&constructor=y&prototype=z',
    ]
    const account = await s.register('proto')
    const token = (await loginAs(s, account)).json.access_token as string
    for (const path of ['/register', '/login', '/password', '/logout']) {
      for (const body of jsonBodies) {
        const reply = await s.http.call(path, {
          method: 'POST',
          body,
          bearer: path === '/password' ? token : undefined,
          headers: { 'content-type': 'application/json', accept: 'application/json' },
        })
        expect(reply.status, `${path} ${body}`).toBeLessThan(500)
        expect(reply.status, `${path} ${body}`).not.toBe(201)
      }
      for (const body of forms) {
        const reply = await s.http.call(path, {
          method: 'POST',
          body,
          headers: { 'content-type': 'application/x-www-form-urlencoded', origin: s.baseUrl },
        })
        expect(reply.status, `${path} ${body}`).toBeLessThan(500)
      }
    }
    // a password only in __proto__ is no password: the registration is refused (the JSON parser
    // rejects __proto__ and constructor.prototype outright), never completed from the prototype
    const inherited = await s.http.call('/register', {
      method: 'POST',
      body: `{"username": "${uniqueUsername('inh')}", "__proto__": {"password": "${strongPassword()}"}}`,
      headers: { 'content-type': 'application/json' },
    })
    expectProblem(inherited, 400, 'validation_failed')
    // afterwards the server's plain objects are still empty: {} lacks both fields, logins carry no role
    expectInvalid(await s.http.postJson('/register', {}), ['password', 'username'])
    expectInvalid(await s.http.postJson('/login', {}), ['password', 'username'])
    expectProblem(
      await s.http.postJson('/login', { username: 'polluted-name', password: pollute.password }),
      401,
      'invalid_credentials',
    )
    const login = await loginAs(s, account)
    expect(login.status).toBe(200)
    expect(Object.keys(login.json.user).sort()).toEqual(['created_at', 'id', 'last_login_time', 'username'])
    expect(login.text).not.toMatch(/admin|role|polluted/)
    expect(jwtParts(login.json.access_token).payload).not.toHaveProperty('role')
    expect(Object.keys((await s.http.getJson('/')).json).sort()).toEqual([
      'health',
      'login',
      'openapi',
      'register',
      'service',
    ])
  })

  it('15.3.7 has no HTTP parameter pollution: repeated fields are refused, the query never supplies body fields', async () => {
    const form = {
      'content-type': 'application/x-www-form-urlencoded',
      origin: s.baseUrl,
      accept: 'application/json',
    }
    const account = await s.register('hpp')
    const repeated: [string, string, string][] = [
      ['/login', `username=${account.username}&username=other&password=x`, 'username'],
      [
        '/login',
        `username=${account.username}&password=${encodeURIComponent(account.password)}&password=x`,
        'password',
      ],
    ]
    for (const [path, body, field] of repeated) {
      const reply = await s.http.call(path, { method: 'POST', body, headers: form })
      expect(reply.status, body).toBe(400)
      expect(reply.contentType).toMatch(/^text\/html/)
      expect(reply.text).toContain('sent more than once')
      expect(reply.text).toMatch(new RegExp(`id="${field}-error"`))
    }
    const jar = new CookieJar()
    await s.http.postForm('/login', credentialsOf(account), { jar })
    const twice = await s.http.call('/password', {
      method: 'POST',
      body: `current_password=${encodeURIComponent(account.password)}&current_password=x&new_password=${encodeURIComponent(strongPassword())}`,
      headers: form,
      jar,
    })
    expect(twice.status).toBe(400)

    // the query string is not a second source of fields
    expectInvalid(
      await s.http.postJson(`/login?username=${account.username}&password=${encodeURIComponent(account.password)}`, {}),
      ['password', 'username'],
    )
    const queried = uniqueUsername('query')
    const bodyName = uniqueUsername('body')
    const password = strongPassword()
    expect(
      (await s.http.postJson(`/register?username=${queried}`, { username: bodyName, password })).json.user.username,
    ).toBe(bodyName)
    expectProblem(await s.http.postJson('/login', { username: queried, password }), 401, 'invalid_credentials')

    // header vs. cookie, the bearer token wins: the dashboard table's session-cookie row

    // a repeated query parameter or JSON key is not a crash
    expect((await s.http.getHtml('/login?username=a&username=b')).status).toBe(200)
    const duplicateKeys = await s.http.call('/login', {
      method: 'POST',
      body: `{"username": "${account.username}", "username": ["x"], "password": "${account.password}"}`,
      headers: { 'content-type': 'application/json' },
    })
    expectInvalid(duplicateKeys, ['username'])
  })
})

// A process holds one runtime at a time: this test starts its two services itself, one after the
// other, with the production login limits (throttling is one of the things it observes).
describe('V15.3.4 the client address', () => {
  it('15.3.4 takes the client address from the socket, or from a TRUST_PROXY proxy only, for logs and throttling', async () => {
    const spoofed = (n: number) => ({ 'x-forwarded-for': `198.51.100.${n}`, 'x-forwarded-proto': 'https' })
    const direct = await startService({ captureLogs: true })
    try {
      // no trusted proxy: X-Forwarded-For is the client's own claim and changes nothing
      const s = direct
      const before = s.logs().length
      const account = await s.register('peer')
      expect(
        (
          await s.http.postJson(
            '/register',
            { username: uniqueUsername('peer'), password: strongPassword() },
            { headers: spoofed(1) },
          )
        ).status,
      ).toBe(201)
      const lines = s
        .logs()
        .slice(before)
        .filter((line) => 'clientIp' in line)
      expect(lines.length).toBeGreaterThan(0)
      for (const line of lines) expect(line.clientIp).toBe('127.0.0.1')
      // five failures, each "from" another forwarded address, are five failures from this one client
      for (let n = 1; n <= 5; n++) {
        expectProblem(
          await loginAs(s, { username: account.username, password: `wrong ${n} wrong wrong` }, spoofed(n)),
          401,
          'invalid_credentials',
        )
      }
      expectProblem(await loginAs(s, account, spoofed(99)), 429, 'rate_limited')
      // and its X-Forwarded-Proto is not believed: plain cookie, no Secure
      const other = await s.register('peer2')
      const cookie = parseSetCookie(
        (await s.http.postForm('/login', credentialsOf(other), { headers: spoofed(7) })).setCookies[0]!,
      )
      expect(cookie.name).toBe('session')
      expect(cookie.attributes).not.toHaveProperty('secure')
    } finally {
      await direct.stop()
    }

    const proxied = await startService({ env: { TRUST_PROXY: '127.0.0.1' }, captureLogs: true })
    try {
      // behind the trusted proxy: the address it appended is the client; what the client wrote before is not
      const s = proxied
      const before = s.logs().length
      const account = await s.register('proxied')
      const via = (client: string) => ({ 'x-forwarded-for': `203.0.113.66, ${client}` })
      expect(
        (
          await s.http.postJson(
            '/register',
            { username: uniqueUsername('px'), password: strongPassword() },
            { headers: via('198.51.100.7') },
          )
        ).status,
      ).toBe(201)
      const addresses = s
        .logs()
        .slice(before)
        .filter((line) => 'clientIp' in line)
        .map((line) => line.clientIp)
      expect(addresses).toEqual(expect.arrayContaining(['127.0.0.1', '198.51.100.7']))
      expect(addresses).not.toContain('203.0.113.66')
      // throttling counts per real client: 198.51.100.7 locks itself out, 198.51.100.8 is unaffected
      for (let n = 1; n <= 5; n++) {
        expectProblem(
          await loginAs(s, { username: account.username, password: `wrong ${n} wrong wrong` }, via('198.51.100.7')),
          401,
          'invalid_credentials',
        )
      }
      expectProblem(await loginAs(s, account, via('198.51.100.7')), 429, 'rate_limited')
      expect((await loginAs(s, account, via('198.51.100.8'))).status).toBe(200)
      // the proxy's X-Forwarded-Proto is believed: HTTPS gets the __Host- cookie with Secure
      const https = s.baseUrl.replace(/^http:/, 'https:')
      const login = await s.http.postForm('/login', credentialsOf(account), {
        headers: { ...via('198.51.100.9'), 'x-forwarded-proto': 'https', origin: https },
      })
      expect(login.status).toBe(303)
      const cookie = parseSetCookie(login.setCookies[0]!)
      expect(cookie.name).toBe('__Host-session')
      expect(cookie.attributes).toHaveProperty('secure')
    } finally {
      await proxied.stop()
    }
  })
})
