// The session cache across processes (docs/decisions/014-session-cache.md): two services, A and B,
// each `node adapters/express.ts` on one server database, plus the admin CLI as a third process.
// Every way a session ends is done through one of them; the process that did it refuses the token in
// the same call, the other one as soon as the trigger's NOTIFY reaches it (polled, bounded). B's
// cache is filled before each ending, so a refusal there proves its entry was dropped.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createSession } from '#lib/auth/sessions.ts'
import { loadConfig } from '#lib/platform/config.ts'
import { serverDatabaseUrl } from '../helpers/runtime.ts'
import { strongPassword, uniqueUsername } from '../helpers/factories.ts'
import { expectExit, runCli } from '../helpers/cli.ts'
import {
  connectToServiceDatabase,
  createServerSchema,
  spawnService,
  type ServiceProcess,
} from '../helpers/service-process.ts'

const JWT_SECRET = 'session-cache-test-secret-0123456789abcdef'
const SESSIONS_PER_USER = 3
const POLL_LIMIT_MS = 10_000

interface Account {
  username: string
  password: string
  id: string
}

async function call(service: ServiceProcess, method: string, url: string, token?: string, body?: unknown) {
  const reply = await fetch(`${service.baseUrl}${url}`, {
    method,
    headers: {
      accept: 'application/json',
      ...(body ? { 'content-type': 'application/json' } : {}),
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body: body ? JSON.stringify(body) : undefined,
  })
  const text = await reply.text()
  return { status: reply.status, json: text ? JSON.parse(text) : undefined }
}

/** The dashboard JSON's status and, when refused, the problem code. */
async function dashboard(service: ServiceProcess, account: Account, token: string) {
  const reply = await call(service, 'GET', `/dashboard/${account.username}`, token)
  return reply.status === 200
    ? { status: 200, sessions: reply.json.sessions.length }
    : { status: reply.status, code: reply.json?.code }
}

/** Asks until `accept` holds (bounded: the NOTIFY crosses processes), then returns the answer. */
async function eventually<T>(ask: () => Promise<T>, accept: (answer: T) => boolean): Promise<T> {
  const started = Date.now()
  for (;;) {
    const answer = await ask()
    if (accept(answer) || Date.now() - started > POLL_LIMIT_MS) return answer
    await sleep(10)
  }
}
const refused = (answer: { status: number }) => answer.status === 401
const cacheSwitches = (service: ServiceProcess) =>
  service
    .logLines()
    .filter((line) => line.event === 'session_cache')
    .map((line) => line.state)

// each test drives three to five processes: on a busy machine that takes longer than the default 30 s
describe.skipIf(!serverDatabaseUrl())(
  'revocation across processes with the session cache on',
  { timeout: 120_000 },
  () => {
    let schema: Awaited<ReturnType<typeof createServerSchema>>
    let dataDir: string
    let env: Record<string, string>
    let a: ServiceProcess
    let b: ServiceProcess
    let db: Awaited<ReturnType<typeof connectToServiceDatabase>>

    beforeAll(async () => {
      schema = await createServerSchema(serverDatabaseUrl()!)
      dataDir = await mkdtemp(path.join(tmpdir(), 'session-cache-'))
      env = {
        DATABASE_URL: schema.url,
        DATA_DIR: dataDir,
        JWT_SECRET,
        REGISTRATION: 'open',
        REGISTRATIONS_PER_HOUR: '1000',
        LOGIN_SUCCESSES_PER_MINUTE: '1000',
        SESSIONS_PER_USER: String(SESSIONS_PER_USER),
        BCRYPT_COST: '10',
      }
      a = await spawnService(env)
      b = await spawnService(env)
      db = await connectToServiceDatabase({ DATABASE_URL: schema.url, DATA_DIR: dataDir })
      for (const service of [a, b])
        await eventually(
          async () => cacheSwitches(service),
          (states) => states.includes('on'),
        )
    }, 120_000)

    afterAll(async () => {
      await Promise.all([a?.stop(), b?.stop()])
      await db?.$pool.end()
      await schema?.drop()
      await rm(dataDir, { recursive: true, force: true })
    })

    async function register(): Promise<Account> {
      const account = { username: uniqueUsername('cache'), password: strongPassword() }
      const reply = await call(a, 'POST', '/register', undefined, account)
      expect(reply.status).toBe(201)
      return { ...account, id: reply.json.user.id }
    }
    async function signIn(service: ServiceProcess, account: Account): Promise<string> {
      const reply = await call(service, 'POST', '/login', undefined, {
        username: account.username,
        password: account.password,
      })
      expect(reply.status).toBe(200)
      return reply.json.access_token
    }
    /** Both processes have served the token (so both hold it), answering 200. */
    async function servedByBoth(account: Account, token: string) {
      for (const service of [a, b, a, b]) expect((await dashboard(service, account, token)).status).toBe(200)
    }
    /** The token is refused by A in the same call, by B once the NOTIFY arrives, and never accepted again. */
    async function refusedEverywhere(account: Account, token: string, by: ServiceProcess = a) {
      expect(await dashboard(by, account, token)).toEqual({ status: 401, code: 'unauthorized' })
      const other = by === a ? b : a
      expect(await eventually(() => dashboard(other, account, token), refused)).toEqual({
        status: 401,
        code: 'unauthorized',
      })
      for (const service of [a, b]) expect((await dashboard(service, account, token)).status).toBe(401)
    }
    /** Written by a third party (the CLI, psql): both processes hear of it through the NOTIFY. */
    async function refusedByBothSoon(account: Account, token: string) {
      for (const service of [a, b]) {
        expect(await eventually(() => dashboard(service, account, token), refused)).toEqual({
          status: 401,
          code: 'unauthorized',
        })
      }
    }
    /**
     * Returns once both processes have heard every NOTIFY committed so far. PostgreSQL delivers
     * notifications in commit order, so a fresh sentinel revocation refused by both is the barrier:
     * without it, the sign-in's own NOTIFY may reach B late and drop an entry the test just filled.
     */
    async function heardEverything() {
      const sentinel = await register()
      const token = await signIn(a, sentinel)
      await servedByBoth(sentinel, token)
      await db.none('UPDATE sessions SET revoked_at = now() WHERE user_id = $1', [sentinel.id])
      await refusedByBothSoon(sentinel, token)
    }
    const cli = (args: string[], input = '') => runCli(args, { DATABASE_URL: schema.url, DATA_DIR: dataDir }, input)

    it('serves a signed-in request from memory: with the trigger switched off, a revocation goes unheard', async () => {
      const account = await register()
      const token = await signIn(a, account)
      await heardEverything()
      await servedByBoth(account, token)
      await db.tx(async (tx) => {
        await tx.none('ALTER TABLE sessions DISABLE TRIGGER sessions_notify')
        await tx.none('UPDATE sessions SET revoked_at = now() WHERE user_id = $1', [account.id])
        await tx.none('ALTER TABLE sessions ENABLE TRIGGER sessions_notify')
      })
      // neither process asked the database: both still hold the session (the trigger is what keeps them honest)
      for (const service of [a, b]) expect((await dashboard(service, account, token)).status).toBe(200)
      // the same revocation heard: a write that fires the trigger reaches both
      await db.none('UPDATE sessions SET revoked_at = revoked_at WHERE user_id = $1', [account.id])
      await refusedByBothSoon(account, token)
    })

    it('sign-out at A: refused by A at once and by B', async () => {
      const account = await register()
      const token = await signIn(a, account)
      await servedByBoth(account, token)
      expect((await call(a, 'POST', '/logout', token)).status).toBe(204)
      await refusedEverywhere(account, token)
    })

    it('ending the other sessions (all, then one by its handle) at B: refused by B at once and by A', async () => {
      const account = await register()
      const [keeper, first, second] = [await signIn(a, account), await signIn(a, account), await signIn(b, account)]
      for (const token of [keeper, first, second]) await servedByBoth(account, token)
      const list = await call(b, 'GET', `/dashboard/${account.username}`, keeper)
      const handle = list.json.sessions.find((s: { current: boolean }) => !s.current).id
      expect((await call(b, 'POST', '/sessions/end', keeper, { session: handle })).status).toBe(204)
      // B ended one of the two in this very call: one refused, the other still served
      const answers = await Promise.all([first, second].map((token) => dashboard(b, account, token)))
      expect(answers.map((answer) => answer.status).sort()).toEqual([200, 401])
      expect((await call(b, 'POST', '/sessions/end', keeper, { session: 'others' })).status).toBe(204)
      for (const token of [first, second]) await refusedEverywhere(account, token, b)
      expect((await dashboard(a, account, keeper)).status).toBe(200)
    })

    it('a password change at A ends the other sessions everywhere; the one that asked stays', async () => {
      const account = await register()
      const [asking, other] = [await signIn(a, account), await signIn(b, account)]
      for (const token of [asking, other]) await servedByBoth(account, token)
      const change = { current_password: account.password, new_password: strongPassword() }
      expect((await call(a, 'POST', '/password', asking, change)).status).toBe(204)
      await refusedEverywhere(account, other)
      for (const service of [a, b]) expect((await dashboard(service, account, asking)).status).toBe(200)
    })

    it('the session cap: a sign-in at A beyond SESSIONS_PER_USER ends the oldest everywhere', async () => {
      const account = await register()
      const tokens = []
      for (let i = 0; i < SESSIONS_PER_USER; i++) tokens.push(await signIn(i % 2 ? b : a, account))
      for (const token of tokens) await servedByBoth(account, token)
      await signIn(a, account)
      await refusedEverywhere(account, tokens[0]!)
      for (const token of tokens.slice(1)) expect((await dashboard(b, account, token)).status).toBe(200)
    })

    it("B's dashboard lists the sessions A starts and ends: the cached list goes with the entries", async () => {
      const account = await register()
      const token = await signIn(a, account)
      await servedByBoth(account, token)
      const listedAtB = (count: number) =>
        eventually(
          () => dashboard(b, account, token),
          (answer) => answer.sessions === count,
        )
      expect(await listedAtB(1)).toEqual({ status: 200, sessions: 1 })
      const second = await signIn(a, account)
      expect(await listedAtB(2)).toEqual({ status: 200, sessions: 2 })
      expect((await call(a, 'POST', '/logout', second)).status).toBe(204)
      expect(await listedAtB(1)).toEqual({ status: 200, sessions: 1 })
    })

    it("a new sign-in at A shows in B's account answer and dashboard: the cached login times are dropped", async () => {
      const account = await register()
      const token = await signIn(a, account)
      await servedByBoth(account, token)
      const lastLogin = async (service: ServiceProcess) =>
        (await call(service, 'GET', '/account', token)).json.user.last_login_time as string
      const onDashboard = async (service: ServiceProcess) =>
        (await call(service, 'GET', `/dashboard/${account.username}`, token)).json.user.last_login_time as string
      const before = await lastLogin(b)
      // asked twice: B holds its dashboard's body serialised (lib/http/json-once.ts)
      expect([await onDashboard(b), await onDashboard(b)]).toEqual([before, before])
      await signIn(a, account)
      const after = await eventually(
        () => lastLogin(b),
        (time) => time !== before,
      )
      expect(Date.parse(after)).toBeGreaterThan(Date.parse(before))
      expect(await lastLogin(a)).toBe(after)
      expect(await onDashboard(b), "B's dashboard, built again").toBe(after)
    })

    it.each([
      ['sessions revoke', (account: Account) => cli(['sessions', 'revoke', account.username])],
      [
        'users set-password',
        (account: Account) => cli(['users', 'set-password', account.username], `${strongPassword()}\n`),
      ],
      ['users delete', (account: Account) => cli(['users', 'delete', account.username, '--yes'])],
    ])('the admin CLI `%s`, a process of its own, reaches both running services', async (_, run) => {
      const account = await register()
      const token = await signIn(a, account)
      await servedByBoth(account, token)
      expectExit(await run(account), 0)
      await refusedByBothSoon(account, token)
    })

    it('expiry is checked on every hit: a cached session ends at its time without any write', async () => {
      const account = await register()
      const config = loadConfig({ ...env, DATABASE_URL: schema.url })
      // started so that it ends two seconds from now (the TTL is measured from the login)
      const signedIn = new Date(Date.now() - (config.session.ttlSeconds - 2) * 1000)
      const { token } = await createSession(db, { id: account.id, username: account.username }, signedIn, {
        config,
        jwtSecret: JWT_SECRET,
      })
      await servedByBoth(account, token)
      for (const service of [a, b]) {
        expect(await eventually(() => dashboard(service, account, token), refused)).toEqual({
          status: 401,
          code: 'session_expired',
        })
      }
    })

    it('listeners killed (pg_terminate_backend): caches off, answers still right, back on, emptied', async () => {
      const account = await register()
      const [kept, revoked] = [await signIn(a, account), await signIn(a, account)]
      for (const token of [kept, revoked]) await servedByBoth(account, token)
      const onBefore = [a, b].map((service) => cacheSwitches(service).filter((state) => state === 'on').length)
      const killed = await db.any(
        `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
        WHERE datname = current_database() AND query ILIKE 'LISTEN%gateway_auth_sessions%'`,
      )
      expect(killed.length).toBeGreaterThanOrEqual(2)
      // a revocation no NOTIFY carries: only a cache that was emptied (or is off) can see it
      await db.tx(async (tx) => {
        await tx.none('ALTER TABLE sessions DISABLE TRIGGER sessions_notify')
        await tx.none('UPDATE sessions SET revoked_at = now() WHERE id = $1', [jti(revoked)])
        await tx.none('ALTER TABLE sessions ENABLE TRIGGER sessions_notify')
      })
      for (const [i, service] of [a, b].entries()) {
        const states = await eventually(
          async () => cacheSwitches(service),
          (all) => all.filter((state) => state === 'on').length > onBefore[i]!,
        )
        expect(states.slice(-2)).toEqual(['off', 'on'])
        expect(await dashboard(service, account, revoked)).toEqual({ status: 401, code: 'unauthorized' })
        expect((await dashboard(service, account, kept)).status).toBe(200)
      }
      // on again: a revocation reaches the other process as before
      expect((await call(a, 'POST', '/logout', kept)).status).toBe(204)
      await refusedEverywhere(account, kept)
    })
  },
)

const jti = (token: string) => JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()).jti as string
