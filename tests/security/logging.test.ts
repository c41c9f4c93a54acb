// ASVS 5.0 V16 Security Logging and Error Handling (Level 1 and 2), black box: requests over HTTP
// against the running service, and the JSON lines its real logger (pino, with the real redaction)
// writes for them. 16.5.3 (fail closed) lives in tests/security/fail-closed.test.ts; 16.3.1 (each
// sign-in, registration, password change and sign-out logged) in the route tables' `logs`.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { databaseKinds } from '../helpers/runtime.ts'
import { strongPassword, uniqueUsername } from '../helpers/factories.ts'
import { client, CookieJar, type Client, type Reply } from '../helpers/http.ts'
import { expectProblem, expectNoSecrets } from '../helpers/expect.ts'
import { startService, type TestService } from '../helpers/service.ts'

type LogLine = Record<string, unknown>
type Account = { username: string; password: string }

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/
// one failure more than this per username and client is answered 429 (the throttling test here)
const MAX_FAILURES = 3

describe('V16 Security logging and error handling', () => {
  const kind = databaseKinds()[0]!
  let service: TestService
  let http: Client

  beforeAll(async () => {
    service = await startService({ kind, env: { LOGIN_MAX_FAILURES: String(MAX_FAILURES) }, captureLogs: true })
    http = client(service.baseUrl)
  })
  afterAll(async () => {
    await service?.stop()
  })

  /** The log lines written while `act` ran (tests in a file run one at a time). */
  async function linesDuring(act: () => Promise<unknown>): Promise<LogLine[]> {
    const before = service.logs().length
    await act()
    return service.logs().slice(before)
  }

  /** The one line with this event (or code), carrying the request's metadata. */
  function findEvent(lines: LogLine[], match: Partial<LogLine>): LogLine {
    const found = lines.filter((line) => Object.entries(match).every(([key, value]) => line[key] === value))
    expect(found, `a log line with ${JSON.stringify(match)} in ${JSON.stringify(lines)}`).toHaveLength(1)
    const line = found[0]!
    expect(line.requestId).toMatch(UUID)
    return line
  }

  async function register(prefix = 'v16'): Promise<Account & { id: string }> {
    const account = { username: uniqueUsername(prefix), password: strongPassword() }
    const reply = await http.postJson('/register', account)
    expect(reply.status).toBe(201)
    return { ...account, id: reply.json.user.id }
  }

  describe('16.2 General logging', () => {
    it('16.2.1 each security event says when, where, who and what', async () => {
      const account = await register()
      const lines = await linesDuring(() => http.postJson('/login', account, { headers: { 'user-agent': 'v16-test' } }))
      const line = findEvent(lines, { event: 'login_succeeded' })
      expect(line).toMatchObject({
        time: expect.any(String), // when
        service: 'gateway-auth',
        method: 'POST',
        path: '/login',
        clientIp: '127.0.0.1', // where, from whom
        userId: account.id, // who
        event: 'login_succeeded',
        msg: expect.any(String), // what
      })
      // every line of a request carries the same request id, so a timeline can be rebuilt
      const failed = await linesDuring(() => http.postJson('/login', { ...account, password: `${account.password}x` }))
      const ids = new Set(failed.filter((l) => l.requestId).map((l) => l.requestId))
      expect(ids.size).toBe(1)
      expect(failed.find((l) => l.event === 'login_failed')).toMatchObject({
        username: account.username,
        path: '/login',
      })
    })

    it('16.2.2 timestamps are ISO 8601 in UTC', async () => {
      const start = Date.now()
      const lines = await linesDuring(() => http.getJson('/nope'))
      expect(lines.length).toBeGreaterThan(0)
      for (const line of service.logs()) expect(line.time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/)
      const at = Date.parse(lines.at(-1)!.time as string)
      expect(at).toBeGreaterThanOrEqual(start - 1000)
      expect(at).toBeLessThanOrEqual(Date.now() + 1000)
    })

    it('16.2.4 logs are one JSON object per line with level, time and message (a common format)', async () => {
      await http.getJson('/nope')
      const raw = service.rawLogs()
      expect(raw.endsWith('\n')).toBe(true)
      const lines = raw.split('\n').slice(0, -1)
      expect(lines.length).toBeGreaterThan(0)
      for (const text of lines) {
        const line = JSON.parse(text) as LogLine
        expect(line).toMatchObject({ level: expect.any(Number), time: expect.any(String), msg: expect.any(String) })
      }
    })

    it('16.2.5 no password, hash, token, cookie or signing secret ever reaches the log', async () => {
      const account = await register('v16secret')
      const newPassword = strongPassword()
      const jar = new CookieJar()
      const token = (await http.postJson('/login', account)).json.access_token as string
      await http.postForm('/login', account, { jar })
      const cookie = jar.get('session')!
      // every path a secret travels: bodies, Authorization, Cookie, failures and refusals included
      await http.getJson(`/dashboard/${account.username}`, { bearer: token })
      await http.getHtml(`/dashboard/${account.username}`, { jar })
      await http.getJson(`/dashboard/${uniqueUsername('x')}`, { bearer: token })
      await http.postJson('/login', { username: account.username, password: `${account.password}-wrong` })
      await http.postJson('/register', { username: 'x', password: account.password })
      await http.postJson('/register', { username: account.username, password: account.password })
      await http.postJson(
        '/password',
        { current_password: `${account.password}-wrong`, new_password: newPassword },
        { bearer: token },
      )
      await http.postJson('/password', { current_password: account.password, new_password: 'short' }, { bearer: token })
      await http.call('/login', {
        method: 'POST',
        body: `{"password":"${account.password}"`,
        headers: { 'content-type': 'application/json' },
      })
      await http.call('/logout', { method: 'POST', json: {}, headers: { origin: 'http://evil.example' }, jar })
      await http.getJson(`/dashboard/${account.username}`, { bearer: `${token}tampered` })
      await http.postJson(
        '/password',
        { current_password: account.password, new_password: newPassword },
        { bearer: token },
      )
      await http.postJson('/logout', {}, { bearer: token })
      const { password_hash: hash } = await service.runtime.db.one<{ password_hash: string }>(
        'SELECT password_hash FROM users WHERE id = $1',
        [account.id],
      )
      // a database error on a row that holds a hash: PostgreSQL's "Failing row contains (…)" and the
      // formatted SQL both carry the new hash, and neither may reach the log
      const fresh = await http.postJson('/login', { username: account.username, password: newPassword })
      await service.runtime.db.none('ALTER TABLE users ADD CONSTRAINT v16_fault CHECK (false) NOT VALID')
      try {
        const failed = await http.postJson(
          '/password',
          { current_password: newPassword, new_password: strongPassword() },
          { bearer: fresh.json.access_token },
        )
        expect(failed.status).toBe(500)
      } finally {
        await service.runtime.db.none('ALTER TABLE users DROP CONSTRAINT v16_fault')
      }
      expect(service.rawLogs()).toContain('v16_fault') // the failure was logged, by constraint name
      const raw = service.rawLogs()
      expect(raw).toContain(account.id) // the flow was logged
      for (const secret of [
        account.password,
        newPassword,
        `${account.password}-wrong`,
        token,
        token.split('.')[2]!,
        cookie,
        hash,
        service.runtime.jwtSecret,
        JSON.stringify(account.password).slice(1, -1),
      ]) {
        expect(raw).not.toContain(secret)
      }
      expect(raw).not.toMatch(/\$2[aby]\$\d\d\$/) // and nothing shaped like a bcrypt hash
    })
  })

  describe('16.3 Security events', () => {
    it('16.3.2 refused authorization is logged: another user’s dashboard, a bad or missing token, a forged origin', async () => {
      const account = await register()
      const other = await register()
      const token = (await http.postJson('/login', account)).json.access_token as string
      const denied = await linesDuring(() => http.getJson(`/dashboard/${other.username}`, { bearer: token }))
      expect(findEvent(denied, { event: 'access_denied' })).toMatchObject({
        userId: account.id,
        path: `/dashboard/${other.username}`,
        level: 40,
      })
      const jar = new CookieJar()
      await http.postForm('/login', account, { jar })
      const cases: [string, () => Promise<Reply>][] = [
        ['forbidden', () => http.getHtml(`/dashboard/${other.username}`, { jar })],
        ['unauthorized', () => http.getJson(`/dashboard/${account.username}`, { bearer: 'not.a.token' })],
        ['unauthorized', () => http.getJson(`/dashboard/${account.username}`)],
        ['unauthorized', () => http.postJson('/password', { current_password: 'a', new_password: strongPassword() })],
        [
          'cross_origin_rejected',
          () => http.call('/logout', { method: 'POST', json: {}, headers: { origin: 'http://evil.example' }, jar }),
        ],
      ]
      for (const [code, send] of cases) {
        const line = findEvent(await linesDuring(send), { code })
        expect(line.level, code).toBeGreaterThanOrEqual(40)
        expect(line.path, code).toMatch(/^\/(dashboard|password|logout)/)
      }
    })

    it('16.3.3 attempts to get past input validation and anti-automation are logged', async () => {
      // validation: which fields, never what was in them
      const invalid = findEvent(
        await linesDuring(() => http.postJson('/register', { username: '<script>', password: 'x' })),
        { code: 'validation_failed' },
      )
      expect(invalid.fields).toEqual(expect.arrayContaining(['username', 'password']))
      expect(JSON.stringify(invalid)).not.toContain('<script>')
      for (const [code, send] of [
        [
          'validation_failed',
          () =>
            http.call('/login', {
              method: 'POST',
              body: '{"username":',
              headers: { 'content-type': 'application/json' },
            }),
        ],
        [
          'payload_too_large',
          () => http.postJson('/login', { username: 'x', password: 'y', pad: 'z'.repeat(17 * 1024) }),
        ],
        [
          'unsupported_media_type',
          () => http.call('/login', { method: 'POST', body: 'x', headers: { 'content-type': 'text/plain' } }),
        ],
      ] as const) {
        findEvent(await linesDuring(send), { code })
      }
      // anti-automation: the refusal once a username has failed too often from this client
      const account = await register('v16throttle')
      const wrong = { ...account, password: `${account.password}x` }
      for (let i = 0; i < MAX_FAILURES; i++) expect((await http.postJson('/login', wrong)).status).toBe(401)
      const throttled = await linesDuring(async () => {
        const reply = await http.postJson('/login', account)
        expectProblem(reply, 429, 'rate_limited', [account.password])
      })
      const line =
        throttled.find((l) => l.event === 'login_throttled') ?? findEvent(throttled, { code: 'rate_limited' })
      expect(line.requestId).toMatch(UUID)
      expect(line.level).toBeGreaterThanOrEqual(40)
      expect(line.path).toBe('/login')
    })

    it('16.3.4 unexpected errors are logged with their details and the request id', async () => {
      const lines = await withBrokenUsersTable(async () => {
        const reply = await http.postJson('/login', { username: uniqueUsername('v16'), password: strongPassword() })
        expectProblem(reply, 500, 'internal_error')
      })
      const line = lines.find((l) => l.level === 50)
      expect(line, JSON.stringify(lines)).toBeDefined()
      expect(line!.requestId).toMatch(UUID)
      expect(line!.path).toBe('/login')
      const err = line!.err as { message?: string; stack?: string }
      expect(err.message).toMatch(/users/)
      expect(err.stack).toMatch(/\n\s+at /)
    })
  })

  describe('16.4 Log protection', () => {
    it('16.4.1 a username with line breaks or terminal escapes cannot forge a line or carry control characters', async () => {
      const forged = JSON.stringify({
        level: 30,
        time: new Date().toISOString(),
        event: 'login_succeeded',
        userId: 'admin',
      })
      const attacks = [
        `v16\n${forged}`,
        `v16\r\n${forged}`,
        `v16\u001b[31mRED\u001b[0m\u001b]0;title\u0007`,
        `v16\u0085${forged}`,
        `v16\u0001\u0008\u007f\u200e\u202e`,
        `v16\u2028${forged}`,
        `v16\u2029${forged}`,
      ]
      for (const username of attacks) {
        const lines = await linesDuring(() => http.postJson('/login', { username, password: strongPassword() }))
        // no account can have such a name: it is refused as input, and only the field's name is logged
        const line = findEvent(lines, { event: 'request_refused' })
        expect(line).toMatchObject({ code: 'validation_failed', fields: ['username'] })
        expect(line).not.toHaveProperty('username')
      }
      // the raw text: only \n separates lines, every line is one JSON object, none was forged
      const raw = service.rawLogs()
      expect(raw).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u2028\u2029]/)
      for (const text of raw.split(/\r\n|[\n\r\u2028\u2029\u0085]/).filter(Boolean)) {
        const line = JSON.parse(text) as LogLine
        expect(line.userId).not.toBe('admin')
      }
    })
  })

  describe('16.5 Error handling', () => {
    it('16.5.1 an unexpected error is answered with a generic problem: no stack, no SQL, no internals', async () => {
      const account = { username: uniqueUsername('v16'), password: strongPassword() }
      const replies: Reply[] = []
      const lines = await withBrokenUsersTable(async () => {
        replies.push(await http.postJson('/login', account))
        replies.push(await http.postJson('/register', account))
        replies.push(await http.postForm('/login', account))
      })
      const [json, register, page] = replies as [Reply, Reply, Reply]
      for (const reply of [json, register]) {
        expectProblem(reply, 500, 'internal_error', [account.password, service.runtime.jwtSecret])
        expect(reply.json).toEqual({
          type: expect.any(String),
          title: 'Internal error',
          status: 500,
          code: 'internal_error',
        })
      }
      expect(page.status).toBe(500)
      expect(page.contentType).toMatch(/^text\/html/)
      expectNoSecrets(page.text, [account.password, service.runtime.jwtSecret])
      for (const reply of replies) expect(reply.text).not.toMatch(/relation|users_moved|42P01|pg-promise|postgres/i)
      // while the log has what an operator needs
      expect(lines.filter((l) => l.level === 50).length).toBeGreaterThanOrEqual(3)
    })

    it('16.5.2 keeps working, and safely, when the database fails under it', async () => {
      // failures of the one external resource never open anything: no token, no cookie, no 2xx
      const account = await register()
      const jar = new CookieJar()
      await http.postForm('/login', account, { jar })
      const replies: Reply[] = []
      await withBrokenUsersTable(async () => {
        replies.push(await http.postJson('/login', account))
        replies.push(await http.postForm('/login', account))
        replies.push(await http.postJson('/register', { username: uniqueUsername('v16'), password: strongPassword() }))
        replies.push(await http.getHtml(`/dashboard/${account.username}`, { jar }))
      })
      for (const reply of replies) {
        expect(reply.status).toBeGreaterThanOrEqual(400)
        expect(reply.setCookies.filter((c) => /^(__Host-)?session=[^;]/.test(c))).toEqual([])
        expect(reply.json?.access_token).toBeUndefined()
      }
      // and recovers on its own once the database is whole again
      expect((await http.postJson('/login', account)).status).toBe(200)
      expect((await http.getHtml(`/dashboard/${account.username}`, { jar })).status).toBe(200)
    })
  })

  /**
   * Runs `act` while the users table is missing (renamed underneath the running service, as a
   * failed migration or an operator's mistake would leave it): every query on it fails with an
   * error the service does not expect. Returns the log lines written meanwhile.
   */
  async function withBrokenUsersTable(act: () => Promise<void>): Promise<LogLine[]> {
    await service.runtime.db.none('ALTER TABLE users RENAME TO users_moved')
    try {
      return await linesDuring(act)
    } finally {
      await service.runtime.db.none('ALTER TABLE users_moved RENAME TO users')
    }
  }
})
