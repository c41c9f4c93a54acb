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
import { rulesFor, writeRules } from '../helpers/front-door.ts'
import { startService, type TestService } from '../helpers/service.ts'
import { enrolTotp, movableClock } from '../helpers/second-factor.ts'

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

  it('users reset-2fa: the second factors go, every session ends, the password alone signs in again', async () => {
    const token = (await signIn(http, alice, password)).json.access_token as string
    await enrolTotp(service, { password }, token, movableClock(Date.now()))
    expect((await signIn(http, alice, password)).json.code).toBe('second_factor_required')
    const factorsListed = async () =>
      JSON.parse((await runCli(['users', 'list', '--json'], env)).stdout.trim().split('\n')[0]!).second_factors
    expect(await factorsListed()).toEqual(['totp'])
    const run = await runCli(['users', 'reset-2fa', alice.toUpperCase()], env)
    expectExit(run, 0)
    expect(run.stdout).toMatch(/^second factors of .* removed \(totp\); 1 session revoked\n$/)
    expect(await factorsListed()).toEqual([])
    expect((await http.getJson('/account', { bearer: token })).status).toBe(401)
    expect((await signIn(http, alice, password)).status).toBe(200)
    expectExit(await runCli(['users', 'reset-2fa', 'nobody-here'], env), 4, /no account named/)
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
      {
        username: alice,
        created_at: expect.any(String),
        last_login_time: expect.any(String),
        live_sessions: 0,
        groups: ['admins'],
        second_factors: [],
      },
    ])
    expectNoSecrets(list.stdout, [password])
  })

  it('users groups: the first account is the admin and stays one; groups are checked and changed', async () => {
    expectExit(await runCli(['users', 'groups', alice], env), 0)
    expect((await runCli(['users', 'groups', alice], env)).stdout).toBe(`${alice}: admins\n`)
    expectExit(await runCli(['users', 'groups', alice, '--remove', 'admins'], env), 5, /last account in admins/)
    const bob = uniqueUsername('bob')
    expectExit(await runCli(['users', 'create', bob], env, `${strongPassword()}\n`), 0)
    const added = await runCli(['users', 'groups', bob, '--add', 'viewers,lorawan', '--add', 'admins'], env)
    expect(added.stdout).toBe(`${bob}: admins, lorawan, viewers\n`)
    expect((await runCli(['users', 'groups', alice, '--remove', 'admins'], env)).stdout).toBe(`${alice}: (no groups)\n`)
    expectExit(await runCli(['users', 'groups', bob, '--add', 'Admins'], env), 3, /group name is 1 to 32/)
    expectExit(await runCli(['users', 'groups', 'nobody-here', '--add', 'x'], env), 4, /no account named/)
    expect((await runCli(['users', 'groups', alice, '--add', 'admins'], env)).stdout).toBe(`${alice}: admins\n`)
    expect((await runCli(['users', 'groups', bob, '--remove', 'admins'], env)).stdout).toBe(
      `${bob}: lorawan, viewers\n`,
    )
  }, 120_000) // eleven CLI runs, one after the other

  it('access: allowed or why not, by the rules file; exit 0 or 8; a bad file names its line (exit 3)', async () => {
    const rules = await writeRules(rulesFor('gateway.local'))
    const bob = (await runCli(['users', 'list', '--json'], env)).stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line).username as string)
      .find((name) => name.startsWith('bob'))!
    const app = 'https://gateway.local/chirpstack/devices'
    const allowed = await runCli(['access', alice, app], { ...env, ACCESS_RULES: rules })
    expectExit(allowed, 0)
    expect(allowed.stdout).toBe(`${alice} → ${app}: allowed: ${alice} is in a group ChirpStack admits (line 2)\n`)
    const denied = await runCli(['access', bob, app, '--rules', rules], env)
    expectExit(denied, 8, /access denied/)
    expect(denied.stdout).toMatch(/denied: ChirpStack is only for the group admins \(line 2\)/)
    const unlisted = await runCli(['access', bob, 'https://gateway.local/other'], { ...env, ACCESS_RULES: rules })
    expect([unlisted.code, unlisted.stdout]).toEqual([8, expect.stringMatching(/no access rule names this address/)])
    const bad = await writeRules('rules:\n  - host: gateway.local\n    allow: all\n')
    expectExit(await runCli(['access', bob, app, '--rules', bad], env), 3, /line 3: rules\[0\]\.allow/)
    expectExit(await runCli(['access', bob, 'javascript:alert(1)', '--rules', rules], env), 3, /not an http/)
    expectExit(await runCli(['access', bob, app], env), 3, /set ACCESS_RULES or pass --rules/)
  }, 120_000)

  it('users delete asks for --yes off a terminal, deletes, then knows no such account (exit 4)', async () => {
    expectExit(await runCli(['users', 'delete', alice], env), 2, /add --yes/)
    expect((await signIn(http, alice, password)).status).toBe(200)
    expectExit(await runCli(['users', 'delete', alice, '--yes'], env), 0)
    expect((await signIn(http, alice, password)).status).toBe(401)
    expectExit(await runCli(['users', 'set-password', alice], env, `${strongPassword()}\n`), 4, /no account named/)
  })
})
