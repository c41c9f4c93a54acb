// The embedded PostgreSQL after a crash, beside a shutting-down or racing start, and with a stale
// postmaster.pid: real processes, each test in its own temp DATA_DIR.
import { spawn } from 'node:child_process'
import fs from 'node:fs/promises'
import path from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { describe, expect, test } from 'vitest'
import {
  afterThisTest,
  isRoot,
  pgp,
  running,
  spawnOwner,
  start,
  tempDir,
  withDb,
} from '../helpers/embedded-postgres.ts'

describe('startEmbeddedPostgres after a crash or beside another start', () => {
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
    afterThisTest(async () => stranger.kill())
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
    await withDb(connection!, (db) =>
      db.none("create table survivors (name text); insert into survivors values ('bob')"),
    )

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
    expect(
      await withDb(winners[0]!.connection!, (db) => db.one("select current_setting('server_encoding') as e")),
    ).toEqual({ e: 'UTF8' })
    // The loser's initdb copy is gone; only the cluster and the password remain
    expect((await fs.readdir(dataDir)).sort()).toEqual(['postgres', 'postgres-password'])
    expect((await fs.readFile(path.join(dataDir, 'postgres', 'PG_VERSION'), 'utf8')).trim()).toBe('17')
  })
})
