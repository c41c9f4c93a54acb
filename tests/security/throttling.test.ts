// ASVS 6.1.1, 6.3.1, 2.4.1: throttling of guesses and registrations, black box over HTTP. The
// locked-out sign-in page, a name in capitals or a lookalike, and a wrong current password counted
// as a failed sign-in are rows of the POST /login and POST /password tables.
// The service trusts 127.0.0.1 as a proxy here, so X-Forwarded-For stands for the client's
// address and one test file can play many clients.
import { readFile } from 'node:fs/promises'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadConfig } from '#lib/platform/config.ts'
import { strongPassword, uniqueUsername } from '../helpers/factories.ts'
import { client, type Client } from '../helpers/http.ts'
import { expectProblem } from '../helpers/expect.ts'
import { startService, type TestService } from '../helpers/service.ts'

/** The production defaults: what an operator gets without setting anything. */
const DEFAULTS = loadConfig({}).throttle
const PRODUCTION_LIMITS = { TRUST_PROXY: '127.0.0.1', REGISTRATIONS_PER_HOUR: String(DEFAULTS.registrationsPerHour) }

let lastClient = 0
/** A fresh client address (TEST-NET-2), one per call. */
const newClient = () => `198.51.100.${++lastClient}`
const from = (ip: string) => ({ headers: { 'x-forwarded-for': ip } })

interface Account {
  username: string
  password: string
}

function accounts(http: () => Client) {
  return {
    async register(ip = newClient()): Promise<Account> {
      const account = { username: uniqueUsername('thr'), password: strongPassword() }
      const reply = await http().postJson('/register', account, from(ip))
      expect(reply.status).toBe(201)
      return account
    },
    login: (account: Account, ip: string, password = account.password) =>
      http().postJson('/login', { username: account.username, password }, from(ip)),
  }
}

/** Sends `count` wrong passwords for `account` from `ip`, expecting 401 for each. */
async function failLogins(http: Client, account: Account, ip: string, count: number) {
  for (let i = 0; i < count; i++) {
    const reply = await http.postJson(
      '/login',
      { username: account.username, password: `wrong ${i} ${account.password}` },
      from(ip),
    )
    expect(reply.status, `failure ${i + 1}`).toBe(401)
  }
}

const retryAfter = (reply: { headers: Headers }) => Number(reply.headers.get('retry-after'))

describe('throttling of sign-in guesses (ASVS 6.3.1)', () => {
  let service: TestService
  let http: Client
  const { register, login } = accounts(() => http)

  beforeAll(async () => {
    service = await startService({ env: PRODUCTION_LIMITS })
    http = client(service.baseUrl)
  })
  afterAll(() => service?.stop())

  it('6.3.1 throttles repeated failures per user and client', async () => {
    const victim = await register()
    const attacker = newClient()
    await failLogins(http, victim, attacker, DEFAULTS.maxFailures)

    // even the right password is not checked from that address now
    const refused = await login(victim, attacker)
    expectProblem(refused, 429, 'rate_limited', [victim.password])
    expect(retryAfter(refused)).toBeGreaterThanOrEqual(1)
    expect(retryAfter(refused)).toBeLessThanOrEqual(DEFAULTS.lockoutSeconds)
    expect(refused.json.detail).toMatch(/try again in \d+ seconds?/i)

    // the victim, from their own address, is not locked out
    expect((await login(victim, newClient())).status).toBe(200)
    // another user from the attacker's address is not affected
    const neighbour = await register()
    expect((await login(neighbour, attacker)).status).toBe(200)
  })

  it('6.3.1 lets a burst of parallel guesses through no further than the limit', async () => {
    // the attempt is counted before its bcrypt comparison, atomically in PostgreSQL
    const account = await register()
    const ip = newClient()
    const replies = await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        http.postJson('/login', { username: account.username, password: `parallel guess ${i}` }, from(ip)),
      ),
    )
    const statuses = replies.map((reply) => reply.status).sort()
    expect(statuses.filter((status) => status === 401)).toHaveLength(DEFAULTS.maxFailures)
    expect(statuses.filter((status) => status === 429)).toHaveLength(12 - DEFAULTS.maxFailures)
  })

  it('6.3.1 forgets earlier failures after a successful sign-in', async () => {
    const account = await register()
    const ip = newClient()
    await failLogins(http, account, ip, DEFAULTS.maxFailures - 1)
    expect((await login(account, ip)).status).toBe(200)
    await failLogins(http, account, ip, DEFAULTS.maxFailures - 1)
    expect((await login(account, ip)).status).toBe(200)
  })

  it('6.3.1 counts every address of one IPv6 /64 as one client', async () => {
    const account = await register()
    for (let i = 0; i < DEFAULTS.maxFailures; i++) {
      const reply = await http.postJson(
        '/login',
        { username: account.username, password: `wrong ${i}` },
        from(`2001:db8:5:7::${i + 1}`),
      )
      expect(reply.status).toBe(401)
    }
    expectProblem(await login(account, '2001:db8:5:7:ffff::9'), 429, 'rate_limited')
    expect((await login(account, '2001:db8:5:8::1')).status).toBe(200)
  })

  it('6.3.1 refuses a client that fails for many usernames (password spraying)', async () => {
    const sprayer = newClient()
    for (let i = 0; i < DEFAULTS.clientMaxFailuresPerHour; i++) {
      const reply = await http.postJson(
        '/login',
        { username: `nobody-${i}`, password: 'Winter2026!Winter2026!' },
        from(sprayer),
      )
      expect(reply.status, `failure ${i + 1}`).toBe(401)
    }
    const refused = await http.postJson(
      '/login',
      { username: 'nobody-else', password: 'Winter2026!Winter2026!' },
      from(sprayer),
    )
    expectProblem(refused, 429, 'rate_limited')
    expect(retryAfter(refused)).toBeGreaterThan(60)
    expect(retryAfter(refused)).toBeLessThanOrEqual(3600)
    // a real user from the same address is refused as well (the per-client limit is the coarse one)…
    const account = await register()
    expectProblem(await login(account, sprayer), 429, 'rate_limited')
    // …and from anywhere else signs in
    expect((await login(account, newClient())).status).toBe(200)
  })
})

describe('lockouts back off and survive a restart (ASVS 6.3.1)', () => {
  it('6.3.1 doubles the lockout on each repeat, up to the longest', async () => {
    const service = await startService({
      env: {
        ...PRODUCTION_LIMITS,
        LOGIN_LOCKOUT_SECONDS: '1',
        LOGIN_LOCKOUT_MAX_SECONDS: '2',
        LOGIN_MAX_FAILURES: '2',
      },
    })
    try {
      const http = client(service.baseUrl)
      const { register, login } = accounts(() => http)
      const account = await register()
      const ip = newClient()
      const lockouts: number[] = []
      for (let round = 0; round < 3; round++) {
        await failLogins(http, account, ip, 2)
        const refused = await login(account, ip)
        expectProblem(refused, 429, 'rate_limited')
        lockouts.push(retryAfter(refused))
        await new Promise((resolve) => setTimeout(resolve, retryAfter(refused) * 1000 + 100))
      }
      expect(lockouts).toEqual([1, 2, 2])
    } finally {
      await service.stop()
    }
  })

  it('6.3.1 keeps the counters in the database across a restart', async () => {
    const first = await startService({ kind: 'embedded', env: PRODUCTION_LIMITS })
    const dataDir = first.dataDir
    const account = { username: uniqueUsername('thr'), password: strongPassword() }
    const ip = newClient()
    try {
      const http = client(first.baseUrl)
      expect((await http.postJson('/register', account, from(ip))).status).toBe(201)
      await failLogins(http, account, ip, DEFAULTS.maxFailures)
    } finally {
      await first.stop({ keepDataDir: true })
    }
    const second = await startService({ kind: 'embedded', env: PRODUCTION_LIMITS, dataDir })
    try {
      const http = client(second.baseUrl)
      expectProblem(await accounts(() => http).login(account, ip), 429, 'rate_limited')
    } finally {
      await second.stop()
    }
  })
})

describe('registration limit (ASVS 2.4.1)', () => {
  let service: TestService
  let http: Client

  beforeAll(async () => {
    service = await startService({ env: PRODUCTION_LIMITS })
    http = client(service.baseUrl)
  })
  afterAll(() => service?.stop())

  it('2.4.1 limits registrations per client', async () => {
    const ip = newClient()
    const taken = uniqueUsername('thr')
    // a taken name counts too: the limit bounds the "is this name taken" oracle
    for (let i = 0; i < DEFAULTS.registrationsPerHour; i++) {
      const username = i < 2 ? taken : uniqueUsername('thr')
      const reply = await http.postJson('/register', { username, password: strongPassword() }, from(ip))
      expect(reply.status, `registration ${i + 1}`).toBe(i === 1 ? 409 : 201)
    }
    const refused = await http.postJson(
      '/register',
      { username: uniqueUsername('thr'), password: strongPassword() },
      from(ip),
    )
    expectProblem(refused, 429, 'rate_limited')
    expect(retryAfter(refused)).toBeGreaterThan(3000)
    expect(retryAfter(refused)).toBeLessThanOrEqual(3600)
    const before = await service.runtime.db.one('SELECT count(*)::int AS n FROM users', [], (row) => row.n)

    const form = await http.postForm(
      '/register',
      { username: uniqueUsername('thr'), password: strongPassword() },
      from(ip),
    )
    expect(form.status).toBe(429)
    expect(form.text).toMatch(/Too many registrations/)
    expect(await service.runtime.db.one('SELECT count(*)::int AS n FROM users', [], (row) => row.n)).toBe(before)

    // another client registers
    const other = await http.postJson(
      '/register',
      { username: uniqueUsername('thr'), password: strongPassword() },
      from(newClient()),
    )
    expect(other.status).toBe(201)
  })
})

describe('throttling policy document (ASVS 6.1.1)', () => {
  it('6.1.1 documents the throttling policy and how it prevents malicious lockout', async () => {
    const doc = await readFile(new URL('../../docs/security.md', import.meta.url), 'utf8')
    const section = doc.split(/\n## /).find((part) => part.startsWith('Throttling\n')) ?? ''
    expect(section, 'docs/security.md has a "## Throttling" section').not.toBe('')
    // every setting is named with the default the service really uses
    const documented: Record<string, number> = {
      LOGIN_MAX_FAILURES: DEFAULTS.maxFailures,
      LOGIN_LOCKOUT_SECONDS: DEFAULTS.lockoutSeconds,
      LOGIN_LOCKOUT_MAX_SECONDS: DEFAULTS.maxLockoutSeconds,
      LOGIN_CLIENT_MAX_FAILURES: DEFAULTS.clientMaxFailuresPerHour,
      REGISTRATIONS_PER_HOUR: DEFAULTS.registrationsPerHour,
    }
    for (const [name, value] of Object.entries(documented)) {
      expect(section).toMatch(new RegExp(`\`${name}\`\\s*\\|\\s*\`?${value}\`?\\s*\\|`))
    }
    expect(section).toMatch(/lock(ed)? out|lockout/i)
    expect(section).toMatch(/another address|different address|other address/i)
    expect(section).toMatch(/TRUST_PROXY/)
  })
})
