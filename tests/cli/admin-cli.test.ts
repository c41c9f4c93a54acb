// The admin CLI end to end: each command a spawned `node cli/gateway-auth.ts`, as an operator runs
// it, next to the real service on a PostgreSQL server (DATABASE_URL). The embedded database's half
// (through the running service's socket, on its own, export → fresh database → import) costs
// several server starts and an initdb: tests/slow/admin-cli-embedded.test.ts, `npm run test:slow`.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { serverDatabaseUrl } from '../helpers/runtime.ts'
import { strongPassword, uniqueUsername } from '../helpers/factories.ts'
import { expectExit, runCli } from '../helpers/cli.ts'
import { client, type Client } from '../helpers/http.ts'
import { expectNoSecrets } from '../helpers/expect.ts'
import { startService, type TestService } from '../helpers/service.ts'

const signIn = (http: Client, username: string, password: string) => http.postJson('/login', { username, password })

describe('gateway-auth, the command line itself', () => {
  it('--help on every command exits 0; a bad command, option or missing argument exits 2 with one line', async () => {
    const [top, setPassword, importHelp, unknown, missing] = await Promise.all([
      runCli(['--help'], {}),
      runCli(['users', 'set-password', '--help'], {}),
      runCli(['import', '--help'], {}),
      runCli(['users', 'frobnicate'], {}),
      runCli(['users', 'create'], {}),
    ])
    expectExit(top, 0)
    for (const command of ['users', 'sessions', 'migrate', 'export', 'import']) expect(top.stdout).toContain(command)
    expect(top.stdout).toMatch(/Exit status: 0 done.*\n.*4 no such account, 5 conflict/)
    expectExit(setPassword, 0)
    expect(setPassword.stdout).toContain('Usage: gateway-auth users set-password [options] <name>')
    expectExit(importHelp, 0)
    expect(importHelp.stdout).toMatch(/--on-conflict <choice>[\s\S]*"skip",\s+"overwrite"/)
    expect(unknown.code).toBe(2)
    expect(unknown.stderr).toMatch(/^gateway-auth: unknown command 'frobnicate'/)
    expect(missing.code).toBe(2)
    expect(missing.stderr).toMatch(/^gateway-auth: missing required argument 'name'/)
  })
})

describe.skipIf(!serverDatabaseUrl())('gateway-auth on a PostgreSQL server, next to the running service', () => {
  let service: TestService
  let http: Client
  let env: Record<string, string>
  const alice = uniqueUsername('alice')
  let password = strongPassword()

  beforeAll(async () => {
    service = await startService({ kind: 'server', env: { REGISTRATION: 'closed', LOGIN_MAX_FAILURES: '2' } })
    http = client(service.baseUrl)
    env = { DATABASE_URL: service.runtime.config.database.url! }
  })
  afterAll(() => service?.stop())

  it('users create: the web password rules, names without case; the account signs in over HTTP', async () => {
    const [weak, created] = await Promise.all([
      runCli(['users', 'create', alice], env, 'short\n'),
      runCli(['users', 'create', alice], env, `${password}\n`),
    ])
    expectExit(weak, 3, /Password must be at least 15 characters/)
    expectExit(created, 0)
    expect(created.stdout).toBe(`created ${alice}\n`)
    expectNoSecrets(created.stdout + created.stderr, [password])
    expectExit(
      await runCli(['users', 'create', alice.toUpperCase()], env, `${strongPassword()}\n`),
      5,
      /already exists/,
    )
    expect((await signIn(http, alice, password)).status).toBe(200)
  })

  it('users unlock clears the lockout of the account', async () => {
    for (let i = 0; i < 2; i++) expect((await signIn(http, alice, 'a wrong password')).status).toBe(401)
    expect((await signIn(http, alice, password)).status).toBe(429)
    const unlock = await runCli(['users', 'unlock', alice], env)
    expectExit(unlock, 0)
    expect(unlock.stdout).toMatch(/^unlocked .*counters? cleared/)
    expect((await signIn(http, alice, password)).status).toBe(200)
  })

  it('users set-password: the new password signs in, the old one and every session stop working', async () => {
    const token = (await signIn(http, alice, password)).json.access_token as string
    const newPassword = strongPassword()
    const run = await runCli(['users', 'set-password', alice.toUpperCase()], env, `${newPassword}\n`)
    expectExit(run, 0)
    expect(run.stdout).toMatch(/^password of .* changed; [1-9]\d* sessions? revoked\n$/)
    expect((await http.getJson(`/dashboard/${alice}`, { bearer: token })).status).toBe(401)
    expect((await signIn(http, alice, password)).status).toBe(401)
    expect((await signIn(http, alice, newPassword)).status).toBe(200)
    password = newPassword
  })

  it('sessions revoke ends the tokens at once; users list shows the account and its login time', async () => {
    const token = (await signIn(http, alice, password)).json.access_token as string
    expect((await http.getJson(`/dashboard/${alice}`, { bearer: token })).status).toBe(200)
    expectExit(await runCli(['sessions', 'revoke', alice], env), 0)
    expect((await http.getJson(`/dashboard/${alice}`, { bearer: token })).status).toBe(401)

    const list = await runCli(['users', 'list', '--json'], env)
    expectExit(list, 0)
    const rows = list.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line))
    expect(rows).toEqual([
      { username: alice, created_at: expect.any(String), last_login_time: expect.any(String), live_sessions: 0 },
    ])
    expectNoSecrets(list.stdout, [password])
  })

  it('users delete asks for --yes off a terminal, deletes, then knows no such account (exit 4)', async () => {
    expectExit(await runCli(['users', 'delete', alice], env), 2, /add --yes/)
    expect((await signIn(http, alice, password)).status).toBe(200)
    expectExit(await runCli(['users', 'delete', alice, '--yes'], env), 0)
    expect((await signIn(http, alice, password)).status).toBe(401)
    expectExit(await runCli(['users', 'set-password', alice], env, `${strongPassword()}\n`), 4, /no account named/)
  })
})
