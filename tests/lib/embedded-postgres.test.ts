// The embedded PostgreSQL's life cycle: real processes, each test in its own temp DATA_DIR.
import fs from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { describe, expect, test } from 'vitest'
import { EmbeddedPostgresError, startEmbeddedPostgres } from '#lib/embedded-postgres/server.ts'
import { hydrateSymlinks } from '#lib/embedded-postgres/binaries.ts'
import { isRoot, start, tempDir, withDb } from '../helpers/embedded-postgres.ts'
import { isAlive as alive } from '../helpers/service-process.ts'

describe('startEmbeddedPostgres', () => {
  test('starts a UTF8 server that pg-promise can use, as an unprivileged user when root', async () => {
    const dataDir = await tempDir()
    const first = Date.now()
    const server = await start(dataDir)
    console.log(`first start (initdb + start): ${Date.now() - first} ms`)

    const row = await withDb(server.connection, (db) =>
      db.one<{ encoding: string; lowered: string; user: string }>(
        "select current_setting('server_encoding') as encoding, lower('ÄLICE') as lowered, current_user as user",
      ),
    )
    expect(row).toEqual({ encoding: 'UTF8', lowered: 'älice', user: 'gateway_auth' })
    expect(server.connection).toMatchObject({ host: path.join(dataDir, 'postgres'), port: 5432, database: 'postgres' })
    const uid = (await fs.readFile(`/proc/${server.pid}/status`, 'utf8')).match(/^Uid:\s+(\d+)/m)?.[1]
    expect(Number(uid)).not.toBe(0)
    if (isRoot) {
      // DATA_DIR gained search permission only; the cluster belongs to the server's user
      expect((await fs.stat(dataDir)).mode & 0o777).toBe(0o701)
      expect((await fs.stat(path.join(dataDir, 'postgres'))).uid).toBe(Number(uid))
    }
  })

  test('keeps data and the 0600 password across stop and start', async () => {
    const dataDir = await tempDir()
    const first = await start(dataDir)
    await withDb(first.connection, (db) => db.none("create table kept (name text); insert into kept values ('alice')"))
    const passwordFile = path.join(dataDir, 'postgres-password')
    const password = await fs.readFile(passwordFile, 'utf8')
    expect((await fs.stat(passwordFile)).mode & 0o777).toBe(0o600)
    expect(password.trim()).toMatch(/^[\w-]{43}$/)
    expect(first.connection.password).toBe(password.trim())
    await first.stop()
    await first.stop() // idempotent
    expect(alive(first.pid)).toBe(false)

    const later = Date.now()
    const second = await start(dataDir)
    console.log(`later start: ${Date.now() - later} ms`)
    expect(await fs.readFile(passwordFile, 'utf8')).toBe(password)
    expect(second.connection.password).toBe(first.connection.password)
    expect(await withDb(second.connection, (db) => db.one('select name from kept'))).toEqual({ name: 'alice' })
  })

  test('listens on no TCP address, only on its socket', async () => {
    const server = await start(await tempDir())
    const { listen_addresses } = await withDb(server.connection, (db) => db.one('show listen_addresses'))
    expect(listen_addresses).toBe('')
    await expect(fs.stat(path.join(server.connection.host, '.s.PGSQL.5432'))).resolves.toBeTruthy()
  })

  test('a second start on a DATA_DIR in use fails and leaves the first alone', async () => {
    const dataDir = await tempDir()
    const first = await start(dataDir)
    const error = await startEmbeddedPostgres({ dataDir }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(EmbeddedPostgresError)
    expect((error as Error).message).toContain('in use')
    expect((error as Error).message).toContain(`pid ${first.pid}`)
    expect((error as Error).message).not.toContain('\n')
    expect(await withDb(first.connection, (db) => db.one('select 1 as ok'))).toEqual({ ok: 1 })
  })

  test('rejects a DATA_DIR whose socket path would exceed 107 bytes, naming DATA_DIR', async () => {
    const dataDir = path.join(os.tmpdir(), 'x'.repeat(100))
    const error = await startEmbeddedPostgres({ dataDir }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(EmbeddedPostgresError)
    expect((error as Error).message).toMatch(/^DATA_DIR .* is too long/)
    await expect(fs.stat(dataDir)).rejects.toThrow()
  })

  test.runIf(isRoot)('as root, names the problem when the user is missing or cannot reach DATA_DIR', async () => {
    const base = await tempDir()
    await fs.chmod(base, 0o755)
    const missing = await startEmbeddedPostgres({ dataDir: path.join(base, 'a'), runAsUser: 'no-such-user-x' }).catch(
      (e: unknown) => e,
    )
    expect(missing).toBeInstanceOf(EmbeddedPostgresError)
    expect((missing as Error).message).toContain('no-such-user-x does not exist')

    const closed = path.join(base, 'closed')
    await fs.mkdir(closed, { mode: 0o700 })
    const blocked = await startEmbeddedPostgres({ dataDir: path.join(closed, 'data') }).catch((e: unknown) => e)
    expect(blocked).toBeInstanceOf(EmbeddedPostgresError)
    expect((blocked as Error).message).toContain(`chmod o+x ${closed}`)
  })
})

describe('hydrateSymlinks', () => {
  test('creates the missing library links, relative, and tolerates existing ones', async () => {
    const root = await tempDir()
    await fs.mkdir(path.join(root, 'native', 'lib'), { recursive: true })
    await fs.writeFile(path.join(root, 'native', 'lib', 'libx.so.1.2'), '')
    await fs.symlink('libx.so.1.2', path.join(root, 'native', 'lib', 'libx.so.1'))
    const links = [
      { source: 'native/lib/libx.so.1.2', target: 'native/lib/libx.so' },
      { source: 'native/lib/libx.so.1.2', target: 'native/lib/libx.so.1' },
    ]
    await fs.writeFile(path.join(root, 'native', 'pg-symlinks.json'), JSON.stringify(links))
    await hydrateSymlinks(root)
    await hydrateSymlinks(root)
    expect(await fs.readlink(path.join(root, 'native', 'lib', 'libx.so'))).toBe('libx.so.1.2')
    expect(await fs.readlink(path.join(root, 'native', 'lib', 'libx.so.1'))).toBe('libx.so.1.2')
  })
})
