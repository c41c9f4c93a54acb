// The embedded database and the generated JWT secret survive a restart on the same DATA_DIR:
// accounts are still there, and a token issued before the restart still opens the dashboard.
import { readFile, stat, chmod } from 'node:fs/promises'
import path from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { strongPassword, uniqueUsername } from '../helpers/factories.ts'
import { client } from '../helpers/http.ts'
import { startService, type TestService } from '../helpers/service.ts'

const mode = async (file: string) => (await stat(file)).mode & 0o777

describe('restart on the same DATA_DIR (embedded database, JWT_SECRET unset)', () => {
  let service: TestService | undefined
  afterAll(async () => {
    await service?.stop()
  })

  it('keeps the users, the 0600 jwt-secret file and the sessions across a stop and start', async () => {
    service = await startService({ kind: 'embedded' })
    const dataDir = service.dataDir
    const secretFile = path.join(dataDir, 'jwt-secret')
    let http = client(service.baseUrl)

    // JWT_SECRET unset: the secret is generated into DATA_DIR, readable by its owner only
    expect(await mode(secretFile)).toBe(0o600)
    const secret = await readFile(secretFile, 'utf8')
    expect(Buffer.byteLength(secret.trim())).toBeGreaterThanOrEqual(32)
    expect(service.runtime.jwtSecret).toBe(secret.trim())

    const account = { username: uniqueUsername('Persist'), password: strongPassword() }
    expect((await http.postJson('/register', account)).status).toBe(201)
    const login = await http.postJson('/login', account)
    expect(login.status).toBe(200)
    const token: string = login.json.access_token

    await service.stop({ keepDataDir: true })
    // a restored backup may come back world-readable: the next start tightens it again
    await chmod(secretFile, 0o644)
    service = await startService({ kind: 'embedded', env: {}, dataDir })
    http = client(service.baseUrl)

    expect(await readFile(secretFile, 'utf8')).toBe(secret)
    expect(await mode(secretFile)).toBe(0o600)
    // the token issued before the restart is still accepted
    const dashboard = await http.getJson(`/dashboard/${account.username}`, { bearer: token })
    expect(dashboard.status).toBe(200)
    expect(dashboard.json.user.username).toBe(account.username)
    // the account is still there, in any letter case, with its password
    const again = await http.postJson('/login', {
      username: account.username.toUpperCase(),
      password: account.password,
    })
    expect(again.status).toBe(200)
    expect(again.json.user.id).toBe(login.json.user.id)
    expect(
      (await http.postJson('/register', { username: account.username.toLowerCase(), password: strongPassword() }))
        .status,
    ).toBe(409)
    // a token revoked before a restart stays revoked after it
    expect((await http.postJson('/logout', {}, { bearer: token })).status).toBe(204)

    await service.stop({ keepDataDir: true })
    service = await startService({ kind: 'embedded', env: {}, dataDir })
    http = client(service.baseUrl)
    expect((await http.getJson(`/dashboard/${account.username}`, { bearer: token })).status).toBe(401)
    const third = await http.postJson('/login', account)
    expect(third.status).toBe(200)

    // with JWT_SECRET set, that secret signs instead, and tokens of the file's secret are refused
    await service.stop({ keepDataDir: true })
    service = await startService({
      kind: 'embedded',
      env: { JWT_SECRET: 'another secret, at least 32 bytes long!!' },
      dataDir,
    })
    http = client(service.baseUrl)
    const refused = await http.getJson(`/dashboard/${account.username}`, { bearer: third.json.access_token })
    expect(refused.status).toBe(401)
    expect(refused.json.code).toBe('unauthorized')
    expect(await readFile(secretFile, 'utf8')).toBe(secret)
  })
})
