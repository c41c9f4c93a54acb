// The admin CLI on the embedded database, each command a spawned `node cli/gateway-auth.ts`:
// through the socket of the service running on the same DATA_DIR, on its own when the service is
// stopped (and leaving nothing running), and export → a fresh database → import, after which the
// same account signs in with the same password. Slow (server starts, an initdb): `npm run test:slow`.
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { strongPassword, uniqueUsername } from '../helpers/factories.ts'
import { expectExit, runCli } from '../helpers/cli.ts'
import { client, type Client } from '../helpers/http.ts'
import { startService, type TestService } from '../helpers/service.ts'

const signIn = (http: Client, username: string, password: string) => http.postJson('/login', { username, password })

describe('gateway-auth on the embedded database', () => {
  const bob = uniqueUsername('bob')
  const password = strongPassword()
  const newPassword = strongPassword()
  const dirs: string[] = []
  let exportFile: string
  let exported: { created_at: string; last_login_time: string }
  let service: TestService | undefined

  const freshDir = async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'ga-cli-'))
    dirs.push(dir)
    return dir
  }
  afterAll(async () => {
    await service?.stop({ keepDataDir: true })
    await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })))
  })

  it('works through the socket of the service running on the same DATA_DIR, and exports', async () => {
    // the production cost: `import` accepts only costs 10 to 15, and this export is imported below
    service = await startService({ kind: 'embedded', env: { REGISTRATION: 'closed', BCRYPT_COST: '10' } })
    const env = { DATA_DIR: service.dataDir }
    dirs.push(service.dataDir)
    expectExit(await runCli(['users', 'create', bob], env, `${password}\n`), 0)
    expect((await signIn(client(service.baseUrl), bob, password)).status).toBe(200)

    exportFile = path.join(await freshDir(), 'accounts.jsonl')
    const run = await runCli(['export', '--output', exportFile], env)
    expectExit(run, 0)
    expect(run.stderr).toBe(`exported 1 account to ${exportFile}\n`)
    expect((await stat(exportFile)).mode & 0o777).toBe(0o600)
    const [header, line, ...rest] = (await readFile(exportFile, 'utf8')).trimEnd().split('\n')
    expect(JSON.parse(header!)).toMatchObject({ format: 'gateway-auth/accounts', version: 3, accounts: 1 })
    exported = JSON.parse(line!)
    expect(exported).toEqual({
      username: bob,
      password_hash: expect.stringMatching(/^\$2[ab]\$10\$/),
      created_at: expect.any(String),
      last_login_time: expect.any(String),
      previous_login_time: null,
      // format 2 carries the groups (the first account of a gateway is in admins)
      groups: expect.any(Array),
    })
    expect(rest).toEqual([])
  })

  it('starts the embedded database itself when the service is stopped, and leaves it stopped', async () => {
    const dataDir = service!.dataDir
    await service!.stop({ keepDataDir: true })
    service = undefined
    expectExit(await runCli(['users', 'set-password', bob], { DATA_DIR: dataDir }, `${newPassword}\n`), 0)
    // the service starts again on the same DATA_DIR (nothing left running) and sees the change
    service = await startService({ kind: 'embedded', env: {}, dataDir })
    const http = client(service.baseUrl)
    expect((await signIn(http, bob, password)).status).toBe(401)
    expect((await signIn(http, bob, newPassword)).status).toBe(200)
    await service.stop({ keepDataDir: true })
    service = undefined
  })

  it('export → a fresh database → import: the same account signs in with the same password; a second import changes nothing', async () => {
    const env = { DATA_DIR: await freshDir() }
    expectExit(await runCli(['users', 'list'], env), 6, /no database in DATA_DIR/)
    const migrated = await runCli(['migrate'], env)
    expectExit(migrated, 0)
    expect(migrated.stdout).toMatch(/^applied \d+_users-and-sessions, /)
    const first = await runCli(['import', exportFile], env)
    expectExit(first, 0)
    expect(first.stdout).toBe(`1 account in ${exportFile}: 1 created, 0 unchanged, 0 skipped, 0 overwritten\n`)
    const again = await runCli(['import', exportFile], env)
    expect(again.stdout).toBe(`1 account in ${exportFile}: 0 created, 1 unchanged, 0 skipped, 0 overwritten\n`)

    service = await startService({ kind: 'embedded', env: {}, dataDir: env.DATA_DIR })
    const row = await service.runtime.db.one('SELECT created_at, last_login_time FROM users WHERE username = $1', [bob])
    expect({ created_at: row.created_at.toISOString(), last_login_time: row.last_login_time.toISOString() }).toEqual({
      created_at: exported.created_at,
      last_login_time: exported.last_login_time,
    })
    const http = client(service.baseUrl)
    expect((await signIn(http, bob, password)).status).toBe(200)
    expect((await signIn(http, bob, newPassword)).status).toBe(401)
  })
})
