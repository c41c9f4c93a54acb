// Crash safety of the whole service (npm run test:crash; slow, not part of npm test). The service
// runs as its own process (`node adapters/express.ts`); 50 registrations, sign-ins, password
// changes and sign-outs are sent at once, and the service is SIGKILLed while they are in flight.
// After a restart on the same data, every request that was answered 2xx must be in the database —
// the account with its password, the login time and its session, the new password with the other
// sessions revoked, the revoked session — and what was not answered is all or nothing. The service
// must start cleanly again: no error in its log, /health 200 at once.
//
// Rounds: on the embedded database, SIGKILL of Node alone (the PostgreSQL child shuts down by
// pdeathsig), then SIGKILL of the whole process group, Node and every PostgreSQL process at once
// (what a power cut does to the processes); on the server, SIGKILL of Node.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import bcrypt from 'bcryptjs'
import { afterAll, describe, expect, it } from 'vitest'
import { serverDatabaseUrl } from '../helpers/runtime.ts'
import { strongPassword, uniqueUsername } from '../helpers/factories.ts'
import {
  connectToServiceDatabase,
  createServerSchema,
  isAlive,
  postmasterPid,
  spawnService,
  type ServiceProcess,
} from '../helpers/service-process.ts'

type Kind = 'embedded' | 'server'
type KillMode = 'node' | 'process-group'

const IN_FLIGHT = { register: 15, login: 15, password: 10, logout: 10 }
const TOTAL = Object.values(IN_FLIGHT).reduce((a, b) => a + b)
/** Requests go out one every SEND_GAP_MS, in random order, so every kind has requests early and late. */
const SEND_GAP_MS = 40
/** The kill comes once half are answered, one of each kind at least, or at the latest with 5 still open. */
const killNow = (answered: Record<string, number>, total: number) =>
  (total >= TOTAL / 2 && Object.keys(IN_FLIGHT).every((kind) => (answered[kind] ?? 0) > 0)) || total >= TOTAL - 5

interface Account {
  username: string
  password: string
  id?: string
  /** Tokens of sessions made before the crash. */
  tokens: string[]
}
interface Outcome {
  kind: keyof typeof IN_FLIGHT
  account: Account
  /** the new password (password change) */
  newPassword?: string
  status?: number
  /** the token a sign-in answered with */
  token?: string
  error?: string
}

const claims = (token: string) => JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString())

async function post(baseUrl: string, path: string, body: unknown, token?: string): Promise<Response> {
  return fetch(`${baseUrl}${path}`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/json',
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body: JSON.stringify(body),
  })
}

async function register(baseUrl: string): Promise<Account> {
  const account: Account = { username: uniqueUsername('crash'), password: strongPassword(), tokens: [] }
  const reply = await post(baseUrl, '/register', { username: account.username, password: account.password })
  expect(reply.status).toBe(201)
  account.id = ((await reply.json()) as { user: { id: string } }).user.id
  return account
}

async function signIn(baseUrl: string, account: Account): Promise<string> {
  const reply = await post(baseUrl, '/login', { username: account.username, password: account.password })
  expect(reply.status).toBe(200)
  const token = ((await reply.json()) as { access_token: string }).access_token
  account.tokens.push(token)
  return token
}

/** n at a time: the setup of a round is not what is tested, and bcrypt wants the two cores. */
async function inBatches<T>(items: T[], n: number, fn: (item: T) => Promise<unknown>): Promise<void> {
  for (let i = 0; i < items.length; i += n) await Promise.all(items.slice(i, i + n).map(fn))
}

/** Accounts for each kind of in-flight request, with the sessions each needs, all acknowledged. */
async function prepare(baseUrl: string) {
  const make = (count: number) => Promise.all(Array.from({ length: count }, () => register(baseUrl)))
  const forLogin = await make(IN_FLIGHT.login)
  const forPassword = await make(IN_FLIGHT.password)
  const forLogout = await make(IN_FLIGHT.logout)
  // a password change keeps the session asking and revokes the other: two sessions each
  await inBatches([...forPassword, ...forPassword, ...forLogout], 4, (account) => signIn(baseUrl, account))
  return { forLogin, forPassword, forLogout }
}

/** Sends every request at once, SIGKILLs once KILL_AFTER_ANSWERS have come back, and records what each got. */
async function crashWhileInFlight(
  service: ServiceProcess,
  accounts: Awaited<ReturnType<typeof prepare>>,
  killMode: KillMode,
  dataDir: string,
) {
  const { baseUrl } = service
  const outcomes: Outcome[] = [
    ...Array.from(
      { length: IN_FLIGHT.register },
      (): Outcome => ({
        kind: 'register',
        account: { username: uniqueUsername('crashnew'), password: strongPassword(), tokens: [] },
      }),
    ),
    ...accounts.forLogin.map((account): Outcome => ({ kind: 'login', account })),
    ...accounts.forPassword.map((account): Outcome => ({ kind: 'password', account, newPassword: strongPassword() })),
    ...accounts.forLogout.map((account): Outcome => ({ kind: 'logout', account })),
  ]
  outcomes.sort(() => Math.random() - 0.5)
  const postmaster = await postmasterPid(dataDir)
  const answered: Record<string, number> = {}
  let total = 0
  let killed = false
  const kill = () => {
    if (killed) return
    killed = true
    if (killMode === 'process-group') process.kill(-service.pid, 'SIGKILL')
    else process.kill(service.pid, 'SIGKILL')
  }
  const requests = outcomes.map(async (outcome, i) => {
    const { account } = outcome
    await sleep(i * SEND_GAP_MS)
    if (killed) return
    try {
      let reply: Response
      if (outcome.kind === 'register')
        reply = await post(baseUrl, '/register', { username: account.username, password: account.password })
      else if (outcome.kind === 'login')
        reply = await post(baseUrl, '/login', { username: account.username, password: account.password })
      else if (outcome.kind === 'password') {
        reply = await post(
          baseUrl,
          '/password',
          { current_password: account.password, new_password: outcome.newPassword },
          account.tokens[0],
        )
      } else reply = await post(baseUrl, '/logout', {}, account.tokens[0])
      const text = await reply.text()
      outcome.status = reply.status
      if (outcome.kind === 'login' && reply.status === 200) outcome.token = JSON.parse(text).access_token
      if (outcome.kind === 'register' && reply.status === 201) account.id = JSON.parse(text).user.id
    } catch (error) {
      outcome.error = (error as Error).message
    }
    if (outcome.status === undefined) return
    answered[outcome.kind] = (answered[outcome.kind] ?? 0) + 1
    if (killNow(answered, ++total)) kill()
  })
  await Promise.all(requests)
  kill()
  await service.exited
  if (killMode === 'process-group' && postmaster) {
    // every process of the group got SIGKILL; wait until the old server is gone, as after a power cut
    for (let i = 0; i < 200 && isAlive(postmaster); i++) await sleep(50)
    expect(isAlive(postmaster), 'the old postmaster is dead').toBe(false)
  }
  return outcomes
}

async function verify(env: { DATABASE_URL?: string; DATA_DIR: string }, service: ServiceProcess, outcomes: Outcome[]) {
  const db = await connectToServiceDatabase(env)
  try {
    const user = (username: string) =>
      db.oneOrNone<{ id: string; password_hash: string; last_login_time: Date | null }>(
        'SELECT id::text, password_hash, last_login_time FROM users WHERE lower(username) = lower($1)',
        [username],
      )
    const session = (token: string) =>
      db.oneOrNone<{ created_at: Date; revoked_at: Date | null }>(
        'SELECT created_at, revoked_at FROM sessions WHERE id = $1',
        [claims(token).jti],
      )

    for (const outcome of outcomes) {
      const { account } = outcome
      const label = `${outcome.kind} ${account.username} (${outcome.status ?? outcome.error})`
      const row = await user(account.username)
      if (outcome.kind === 'register') {
        if (outcome.status === 201) expect(row, label).not.toBeNull()
        // answered or not, an account is there whole or not at all: a row has the password it was sent with
        if (row) expect(await bcrypt.compare(account.password, row.password_hash), label).toBe(true)
        if (row && outcome.status === 201) expect(row.id, label).toBe(account.id)
      } else if (outcome.kind === 'login') {
        expect(row, label).not.toBeNull()
        if (outcome.status === 200) {
          const { iat, jti } = claims(outcome.token!)
          expect(row!.last_login_time?.getTime(), `${label}: login time recorded`).toBeGreaterThanOrEqual(iat * 1000)
          const started = await session(outcome.token!)
          expect(started, `${label}: session ${jti} kept`).not.toBeNull()
          expect(started!.revoked_at, label).toBeNull()
        }
      } else if (outcome.kind === 'password') {
        const isNew = await bcrypt.compare(outcome.newPassword!, row!.password_hash)
        const isOld = await bcrypt.compare(account.password, row!.password_hash)
        if (outcome.status === 204) expect(isNew, `${label}: the new password is the one stored`).toBe(true)
        // all or nothing: the new hash and the revocation of the other session go together
        expect(isNew !== isOld, `${label}: exactly one of old and new`).toBe(true)
        const asking = await session(account.tokens[0]!)
        const other = await session(account.tokens[1]!)
        expect(asking!.revoked_at, `${label}: the session asking stays`).toBeNull()
        expect(
          other!.revoked_at !== null,
          `${label}: the other session is revoked exactly when the password changed`,
        ).toBe(isNew)
      } else {
        const ended = await session(account.tokens[0]!)
        if (outcome.status === 204) expect(ended!.revoked_at, `${label}: stays revoked`).not.toBeNull()
      }
    }
  } finally {
    await db.$pool.end()
  }

  // and as a client sees it, after the checks above (a sign-in changes the login time)
  for (const outcome of outcomes.filter((o) => o.status !== undefined && o.status < 300)) {
    const { account } = outcome
    const label = `${outcome.kind} ${account.username}`
    if (outcome.kind === 'logout') {
      const reply = await fetch(`${service.baseUrl}/dashboard/${account.username}`, {
        headers: { accept: 'application/json', authorization: `Bearer ${account.tokens[0]}` },
      })
      expect(reply.status, `${label}: the revoked token is refused`).toBe(401)
    } else if (outcome.kind === 'password') {
      expect(
        (await post(service.baseUrl, '/login', { username: account.username, password: account.password })).status,
        label,
      ).toBe(401)
      expect(
        (await post(service.baseUrl, '/login', { username: account.username, password: outcome.newPassword })).status,
        label,
      ).toBe(200)
    } else if (outcome.kind === 'login') {
      const reply = await fetch(`${service.baseUrl}/dashboard/${account.username}`, {
        headers: { accept: 'application/json', authorization: `Bearer ${outcome.token}` },
      })
      expect(reply.status, `${label}: the token issued before the crash works`).toBe(200)
    } else {
      expect(
        (await post(service.baseUrl, '/login', { username: account.username, password: account.password })).status,
        label,
      ).toBe(200)
    }
  }
}

/** The restarted service started cleanly: healthy, and nothing at error level in its log. */
async function expectCleanStart(service: ServiceProcess) {
  const health = await fetch(`${service.baseUrl}/health`)
  expect(health.status).toBe(200)
  const errors = service.logLines().filter((line) => Number(line.level) >= 50)
  expect(errors, service.output()).toEqual([])
}

const kinds: Kind[] = serverDatabaseUrl() ? ['embedded', 'server'] : ['embedded']

describe.each(kinds)('SIGKILL with 50 requests in flight (%s database)', (kind) => {
  const cleanups: (() => Promise<unknown>)[] = []
  afterAll(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {})
  })

  const rounds: KillMode[] = kind === 'embedded' ? ['node', 'process-group'] : ['node']
  it(`every acknowledged request survives (${rounds.join(', then ')}), and the service starts cleanly`, async () => {
    const dataDir = await mkdtemp(path.join(tmpdir(), 'ga-crash-'))
    cleanups.push(() => rm(dataDir, { recursive: true, force: true }))
    const env: { DATA_DIR: string; DATABASE_URL?: string } & Record<string, string> = {
      DATA_DIR: dataDir,
      BCRYPT_COST: '10',
      LOG_LEVEL: 'info',
      REGISTRATIONS_PER_HOUR: '100000',
      REGISTRATION: 'open',
      // all 50 requests come from one address: the flood limits per client (their own tests are in
      // tests/http/flood.test.ts and tests/http/connection-limits.test.ts) would refuse most of
      // them before they could be in flight
      MAX_CONNECTIONS_PER_CLIENT: '100',
      HASH_PER_CLIENT: '10000',
      HASH_QUEUE: '10000',
      LOGIN_SUCCESSES_PER_MINUTE: '1000000',
      // and the verification tries every old password once, so its failures add up past the
      // per-client hourly limit over the rounds
      LOGIN_MAX_FAILURES: '1000',
      LOGIN_CLIENT_MAX_FAILURES: '1000000',
    }
    if (kind === 'server') {
      const schema = await createServerSchema(serverDatabaseUrl()!)
      cleanups.push(schema.drop)
      env.DATABASE_URL = schema.url
    }

    let service = await spawnService(env)
    cleanups.push(() => service.stop())
    const tally: Record<string, Record<string, number>> = {}
    for (const killMode of rounds) {
      const accounts = await prepare(service.baseUrl)
      const outcomes = await crashWhileInFlight(service, accounts, killMode, dataDir)
      const answered = outcomes.filter((o) => o.status !== undefined)
      for (const o of outcomes) {
        const key = `${killMode}: ${o.kind}`
        tally[key] ??= {}
        const result = o.status !== undefined ? String(o.status) : o.error ? 'in flight' : 'not sent'
        tally[key][result] = (tally[key][result] ?? 0) + 1
      }
      // the kill came while requests were in flight, and after some were answered
      expect(answered.length).toBeGreaterThan(0)
      expect(answered.length).toBeLessThan(outcomes.length)
      // nothing answered was an error of the service
      expect(
        answered.filter((o) => o.status! >= 500),
        JSON.stringify(answered.filter((o) => o.status! >= 500)),
      ).toEqual([])

      service = await spawnService(env, service.port)
      await expectCleanStart(service)
      await verify(env, service, outcomes)
    }
    console.log(`[crash ${kind}]`, JSON.stringify(tally))
    await service.stop()
    expect(await service.exited).toEqual({ code: 0, signal: null })
  })
})
