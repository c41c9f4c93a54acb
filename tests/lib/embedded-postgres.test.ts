// Real PostgreSQL processes, no mocks: each test gets its own short temp DATA_DIR.

import { spawn, type ChildProcess } from 'node:child_process'
import fs from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { setTimeout as sleep } from 'node:timers/promises'
import pgPromise from 'pg-promise'
import { afterEach, describe, expect, test } from 'vitest'
import {
  EmbeddedPostgresError, startEmbeddedPostgres, type EmbeddedPostgres,
} from '#lib/embedded-postgres/server.ts'
import { hydrateSymlinks } from '#lib/embedded-postgres/binaries.ts'

const pgp = pgPromise({ noWarnings: true })
const CHILD = fileURLToPath(new URL('../helpers/embedded-postgres-child.ts', import.meta.url))
const isRoot = process.getuid?.() === 0

const cleanups: (() => Promise<unknown>)[] = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => {})
})

async function tempDir(): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ep-'))
  cleanups.push(() => fs.rm(dir, { recursive: true, force: true }))
  return dir
}

async function start(dataDir: string, log?: (level: 'info' | 'warn', message: string) => void): Promise<EmbeddedPostgres> {
  const server = await startEmbeddedPostgres({ dataDir, ...(log ? { log } : {}) })
  cleanups.push(() => server.stop())
  return server
}

/** Runs `use` on a fresh pool and closes it so that stopping the server later cannot crash Node. */
async function withDb<T>(connection: EmbeddedPostgres['connection'], use: (db: pgPromise.IDatabase<unknown>) => Promise<T>): Promise<T> {
  const db = pgp(connection)
  try {
    return await use(db)
  } finally {
    await db.$pool.end()
    db.$pool.on('error', () => {})
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

/** Alive and not a zombie waiting to be reaped. */
async function running(pid: number): Promise<boolean> {
  const stat = await fs.readFile(`/proc/${pid}/stat`, 'utf8').catch(() => null)
  return stat !== null && !/^\d+ \(.*\) Z/.test(stat)
}

interface ChildReport { pid?: number; connection?: EmbeddedPostgres['connection']; error?: string; name?: string }

function spawnOwner(dataDir: string): { child: ChildProcess; report: Promise<ChildReport> } {
  const child = spawn(process.execPath, [CHILD, dataDir], { stdio: ['pipe', 'pipe', 'inherit'] })
  cleanups.push(async () => {
    child.stdin?.end()
    if (child.exitCode === null && child.signalCode === null) await new Promise((resolve) => child.once('exit', resolve))
  })
  const report = new Promise<ChildReport>((resolve, reject) => {
    let out = ''
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      out += chunk
      const line = out.split('\n').find((l) => l.startsWith('{'))
      if (line) resolve(JSON.parse(line) as ChildReport)
    })
    child.once('close', (code) => reject(new Error(`owner exited (${code}) without a report: ${out}`)))
  })
  return { child, report }
}

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

  test('waits for a server that is still shutting down instead of failing', async () => {
    const dataDir = await tempDir()
    const first = await start(dataDir)
    // A smart shutdown with a session open keeps the old postmaster in "stopping" state
    const db = pgp(first.connection)
    db.$pool.on('error', () => {})
    await db.one('select 1')
    process.kill(first.pid, 'SIGTERM')
    await sleep(200)
    const messages: string[] = []
    const second = start(dataDir, (_level, message) => messages.push(message))
    await sleep(1_000)
    await db.$pool.end()
    const server = await second
    expect(server.pid).not.toBe(first.pid)
    expect(messages.some((m) => m.includes('waiting for the previous server'))).toBe(true)
  })

  test('clears a postmaster.pid whose pid now belongs to an unrelated process', async () => {
    const dataDir = await tempDir()
    await (await start(dataDir)).stop()
    const pgdata = path.join(dataDir, 'postgres')
    const owner = await fs.stat(pgdata)
    // Same uid as the server: PostgreSQL itself already ignores pids it may not signal (EPERM)
    const stranger = isRoot
      ? spawn('setpriv', [`--reuid=${owner.uid}`, `--regid=${owner.gid}`, '--clear-groups', 'sleep', '30'])
      : spawn('sleep', ['30'])
    cleanups.push(async () => stranger.kill())
    while ((await fs.readFile(`/proc/${stranger.pid}/comm`, 'utf8')).trim() !== 'sleep') await sleep(10)
    const lockFile = path.join(pgdata, 'postmaster.pid')
    await fs.writeFile(lockFile, `${stranger.pid}\n${pgdata}\n0\n5432\n${pgdata}\n\n0 0\nready   \n`, { mode: 0o600 })
    await fs.chown(lockFile, owner.uid, owner.gid)
    const messages: string[] = []
    const server = await start(dataDir, (_level, message) => messages.push(message))
    expect(server.pid).not.toBe(stranger.pid)
    expect(messages.some((m) => m.includes('removing the stale lock'))).toBe(true)
  })

  test('the server dies with its owner on SIGKILL, and the next start reuses the data', async () => {
    const dataDir = await tempDir()
    const { child, report } = spawnOwner(dataDir)
    const { pid, connection } = await report
    expect(pid).toBeTypeOf('number')
    await withDb(connection!, (db) => db.none("create table survivors (name text); insert into survivors values ('bob')"))

    child.kill('SIGKILL')
    const killedAt = Date.now()
    while ((await running(pid!)) && Date.now() - killedAt < 5_000) await sleep(50)
    expect(await running(pid!)).toBe(false)
    console.log(`orphaned postmaster exited ${Date.now() - killedAt} ms after its owner's SIGKILL`)

    const server = await start(dataDir)
    expect(await withDb(server.connection, (db) => db.one('select name from survivors'))).toEqual({ name: 'bob' })
  })

  test('two owners racing on an empty DATA_DIR end with exactly one server and a valid cluster', async () => {
    const dataDir = await tempDir()
    const owners = [spawnOwner(dataDir), spawnOwner(dataDir)]
    const reports = await Promise.all(owners.map((owner) => owner.report))
    const winners = reports.filter((r) => r.pid !== undefined)
    const losers = reports.filter((r) => r.error !== undefined)
    expect(winners).toHaveLength(1)
    expect(losers).toHaveLength(1)
    expect(losers[0]).toMatchObject({ name: 'EmbeddedPostgresError', error: expect.stringContaining('in use') })
    expect(await withDb(winners[0]!.connection!, (db) => db.one("select current_setting('server_encoding') as e"))).toEqual({ e: 'UTF8' })
    // The loser's initdb copy is gone; only the cluster and the password remain
    expect((await fs.readdir(dataDir)).sort()).toEqual(['postgres', 'postgres-password'])
    expect((await fs.readFile(path.join(dataDir, 'postgres', 'PG_VERSION'), 'utf8')).trim()).toBe('17')
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
    const missing = await startEmbeddedPostgres({ dataDir: path.join(base, 'a'), runAsUser: 'no-such-user-x' }).catch((e: unknown) => e)
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
