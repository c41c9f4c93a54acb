// The service's own PostgreSQL, used when DATABASE_URL is unset (the gateway itself, tests).
//
// Why a real server and not PGlite: the same pg-promise code path runs everywhere (named
// prepared statements, concurrent transactions, statement_timeout all behave like production),
// it fsyncs, and it costs ~20 MB instead of ~500 MB (docs/decisions/001-embedded-postgresql.md).
// The server is PostgreSQL 17; keep the production server on the same major version, because
// an upgrade needs a dump/restore path that does not ship here.
//
// Layout under DATA_DIR (which also holds other root-owned 0600 secrets; when root we only add
// o+x to DATA_DIR so the server's user can reach its own directory):
//   postgres/            the cluster, owned by the user that runs the server, mode 0700; also the
//                        Unix socket directory. Nothing listens on TCP, so no port clashes and no
//                        network exposure.
//   postgres-password    random scram-sha-256 password of the superuser gateway_auth, 0600,
//                        created once. The app connects to the default database `postgres`
//                        as that user (no separate database: nothing else lives in this cluster).
//
// What this guards against:
// - running as root: PostgreSQL refuses, so initdb and postgres run as `postgres` (or `nobody`)
//   via setpriv; see binaries.ts.
// - orphans: `setpriv --pdeathsig SIGINT` makes the kernel ask the server for a fast shutdown
//   when Node dies, even by SIGKILL. The dying server can hold postmaster.pid for ~1-2 s, so a
//   start retries that lock with backoff; a lock held by a running server fails at once, since
//   two services on one DATA_DIR must never both run. pdeathsig follows the spawning *thread*:
//   start this from the main thread, not a worker_thread.
// - two first starts racing: initdb runs into a private temp dir that is renamed into place;
//   the loser throws its copy away.
// - locale from the environment: initdb pins UTF8 with the builtin C.UTF-8 provider, so
//   lower('ÄLICE') = 'älice' whatever LANG is.
// - silent failures: the last server lines are kept and the relevant one goes into the error.
//
// Caller's concern (pg-promise): after db.$pool.end(), stopping the server can emit 57P01 on a
// pool that no longer has an error listener, which crashes Node. Add
// `db.$pool.on('error', () => {})` after end(), before stop().

import type { ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import fs from 'node:fs/promises'
import path from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import pgPromise from 'pg-promise'
import {
  EmbeddedPostgresError,
  ancestors,
  assertTraversable,
  captureLines,
  findSetpriv,
  locateBinaries,
  relevantLine,
  resolveRunAs,
  spawnBinary,
  waitExit,
  type PostgresBinaries,
  type RunAs,
} from './binaries.ts'

export { EmbeddedPostgresError }

export interface EmbeddedPostgres {
  readonly connection: { host: string; port: number; user: string; password: string; database: string }
  readonly pid: number
  stop(): Promise<void>
}

export interface EmbeddedPostgresOptions {
  dataDir: string
  runAsUser?: string
  log?: (level: 'info' | 'warn', message: string) => void
}

type Log = NonNullable<EmbeddedPostgresOptions['log']>
interface Context {
  dataDir: string
  pgdata: string
  binaries: PostgresBinaries
  setpriv: string
  runAs: RunAs
  log: Log
}

const PORT = 5432
const USER = 'gateway_auth'
const DATABASE = 'postgres'
const MAJOR = '17'
const INITDB_TIMEOUT_MS = 60_000
const START_TIMEOUT_MS = 30_000
const LOCK_WAIT_MS = 8_000
const STOP_TIMEOUT_MS = 20_000
const STALE_TEMP_MS = 10 * 60_000
const SUN_PATH_MAX = 107
const READY = 'database system is ready to accept connections'
// A 1 GB device shared with Node and the packet forwarder. fsync stays on (the default).
const SMALL_DEVICE = [
  'shared_buffers=16MB',
  'max_connections=20',
  'huge_pages=off',
  'work_mem=2MB',
  'maintenance_work_mem=16MB',
  'effective_cache_size=128MB',
  'max_worker_processes=4',
  'max_parallel_workers=2',
  'autovacuum_max_workers=2',
  'max_wal_size=256MB',
]

export async function startEmbeddedPostgres(options: EmbeddedPostgresOptions): Promise<EmbeddedPostgres> {
  const log: Log = options.log ?? (() => {})
  const dataDir = path.resolve(options.dataDir)
  const pgdata = path.join(dataDir, 'postgres')
  const socket = path.join(pgdata, `.s.PGSQL.${PORT}`)
  if (Buffer.byteLength(socket) > SUN_PATH_MAX) {
    throw new EmbeddedPostgresError(
      `DATA_DIR ${dataDir} is too long: the socket path ${socket} exceeds ${SUN_PATH_MAX} bytes; use a shorter ` +
        `DATA_DIR`,
    )
  }
  const [binaries, setpriv, runAs] = await Promise.all([
    locateBinaries(),
    findSetpriv(),
    resolveRunAs(options.runAsUser),
  ])
  const ctx: Context = { dataDir, pgdata, binaries, setpriv, runAs, log }
  await prepareDataDir(ctx)
  const password = await readOrCreatePassword(dataDir, log)
  await ensureCluster(ctx, password)
  const connection = { host: pgdata, port: PORT, user: USER, password, database: DATABASE }
  const child = await launch(ctx, connection)
  let stopping: Promise<void> | undefined
  return { connection, pid: child.pid!, stop: () => (stopping ??= stopChild(child, log)) }
}

async function prepareDataDir({ dataDir, pgdata, binaries, runAs, log }: Context): Promise<void> {
  await fs.mkdir(dataDir, { recursive: true, mode: 0o700 })
  if (runAs.uid !== null) {
    await assertTraversable(runAs, ancestors(path.dirname(dataDir)), `DATA_DIR ${dataDir}`)
    await assertTraversable(runAs, ancestors(path.dirname(binaries.postgres)), 'the PostgreSQL binaries')
    // Search permission only: the secrets next to postgres/ stay 0600 root
    const stat = await fs.stat(dataDir)
    if (stat.uid !== runAs.uid && (stat.mode & 0o001) === 0) await fs.chmod(dataDir, (stat.mode & 0o7777) | 0o001)
    const cluster = await fs.stat(pgdata).catch(() => null)
    if (cluster && cluster.uid !== runAs.uid) {
      log('warn', `embedded postgres: ${pgdata} is owned by uid ${cluster.uid}; handing it to ${runAs.user}`)
      await chownTree(pgdata, runAs.uid, runAs.gid!)
    }
  }
  // Leftovers of an initdb whose Node process was killed; fresh ones may belong to a racing start
  for (const name of await fs.readdir(dataDir)) {
    if (!/^postgres\.(init|pwfile)-/.test(name)) continue
    const file = path.join(dataDir, name)
    const stat = await fs.stat(file).catch(() => null)
    if (stat && Date.now() - stat.mtimeMs > STALE_TEMP_MS) await fs.rm(file, { recursive: true, force: true })
  }
}

async function chownTree(dir: string, uid: number, gid: number): Promise<void> {
  await fs.lchown(dir, uid, gid)
  for (const entry of await fs.readdir(dir, { recursive: true })) await fs.lchown(path.join(dir, entry), uid, gid)
}

async function readOrCreatePassword(dataDir: string, log: Log): Promise<string> {
  const file = path.join(dataDir, 'postgres-password')
  if (!(await fs.stat(file).catch(() => null))) {
    // link() publishes a complete file atomically, and only once when two starts race
    const temp = `${file}.tmp-${randomBytes(6).toString('hex')}`
    await fs.writeFile(temp, `${randomBytes(32).toString('base64url')}\n`, { mode: 0o600, flag: 'wx' })
    await fs
      .link(temp, file)
      .catch((error: NodeJS.ErrnoException) => {
        if (error.code !== 'EEXIST') throw error
      })
      .finally(() => fs.rm(temp, { force: true }))
  }
  const stat = await fs.stat(file)
  if ((stat.mode & 0o077) !== 0) {
    log(
      'warn',
      `embedded postgres: ${file} was readable by others (mode ${(stat.mode & 0o777).toString(8)}); set to 0600`,
    )
    await fs.chmod(file, 0o600)
  }
  const password = (await fs.readFile(file, 'utf8')).trim()
  if (!password)
    throw new EmbeddedPostgresError(
      `${file} is empty: restore it from a backup, or delete it together with ${path.join(dataDir, 'postgres')}`,
    )
  return password
}

async function ensureCluster(ctx: Context, password: string): Promise<void> {
  const { dataDir, pgdata, binaries, setpriv, runAs, log } = ctx
  const version = await fs.readFile(path.join(pgdata, 'PG_VERSION'), 'utf8').catch(() => null)
  if (version !== null) {
    if (version.trim() === MAJOR) return
    throw new EmbeddedPostgresError(
      `${pgdata} was created by PostgreSQL ${version.trim()} but this build runs ${MAJOR}: dump it with that ` +
        `version and restore, or move it away`,
    )
  }
  if (await fs.stat(pgdata).catch(() => null)) {
    throw new EmbeddedPostgresError(
      `${pgdata} exists but is not a PostgreSQL data directory (no PG_VERSION): move it away`,
    )
  }
  const suffix = randomBytes(6).toString('hex')
  const temp = `${pgdata}.init-${suffix}`
  const pwfile = path.join(dataDir, `postgres.pwfile-${suffix}`)
  try {
    await fs.mkdir(temp, { mode: 0o700 })
    await fs.writeFile(pwfile, `${password}\n`, { mode: 0o600, flag: 'wx' })
    if (runAs.uid !== null) {
      await fs.chown(temp, runAs.uid, runAs.gid!)
      await fs.chown(pwfile, runAs.uid, runAs.gid!)
    }
    const started = Date.now()
    const initdb = spawnBinary(setpriv, runAs, 'SIGKILL', binaries.initdb, [
      `--pgdata=${temp}`,
      '--encoding=UTF8',
      '--locale=C',
      '--locale-provider=builtin',
      '--builtin-locale=C.UTF-8',
      '--auth=scram-sha-256',
      `--username=${USER}`,
      `--pwfile=${pwfile}`,
    ])
    const output = captureLines(initdb, () => {})
    const result = await waitExit(initdb, INITDB_TIMEOUT_MS)
    if (result !== 0) {
      throw new EmbeddedPostgresError(
        `initdb ${result === 'timeout' ? `timed out after ${INITDB_TIMEOUT_MS / 1000} s` : `failed (${result})`} in ` +
          `${dataDir}: ${relevantLine(output)}`,
      )
    }
    try {
      await fs.rename(temp, pgdata)
      log('info', `embedded postgres: initialised ${pgdata} in ${Date.now() - started} ms`)
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code
      if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw error
      log('info', `embedded postgres: another start initialised ${pgdata} first; using it`)
    }
  } finally {
    await fs.rm(pwfile, { force: true })
    await fs.rm(temp, { recursive: true, force: true })
  }
}

async function launch(ctx: Context, connection: EmbeddedPostgres['connection']): Promise<ChildProcess> {
  const { pgdata, log } = ctx
  const deadline = Date.now() + LOCK_WAIT_MS
  for (let delay = 100; ; delay = Math.min(delay * 2, 1_000)) {
    const attempt = await startOnce(ctx, connection)
    if (attempt.child) return attempt.child
    const holder = await readLockHolder(path.resolve(pgdata, attempt.lockFile))
    const inUse = () =>
      new EmbeddedPostgresError(
        `DATA_DIR ${ctx.dataDir} is in use by another running instance (pid ${holder?.pid ?? 'unknown'}): stop it, ` +
          `or give this one its own DATA_DIR`,
      )
    if (holder?.comm === 'postgres' && holder.status !== 'stopping') throw inUse()
    if (holder && holder.comm !== null && holder.comm !== 'postgres') {
      // After a reboot the recorded pid can belong to an unrelated process; PostgreSQL would
      // wait for it forever. Its shared-memory interlock still catches a live server.
      log(
        'warn',
        `embedded postgres: ${attempt.lockFile} names pid ${holder.pid}, which is now ${holder.comm}; removing the ` +
          `stale lock`,
      )
      await fs.rm(path.resolve(pgdata, attempt.lockFile), { force: true })
      continue
    }
    if (Date.now() + delay > deadline) throw inUse()
    log(
      'info',
      `embedded postgres: waiting for the previous server (pid ${holder?.pid ?? '?'}) to release ${attempt.lockFile}`,
    )
    await sleep(delay)
  }
}

type Attempt = { child: ChildProcess; lockFile?: undefined } | { child?: undefined; lockFile: string }

async function startOnce(ctx: Context, connection: EmbeddedPostgres['connection']): Promise<Attempt> {
  const { pgdata, binaries, log } = ctx
  const child = spawnBinary(ctx.setpriv, ctx.runAs, 'SIGINT', binaries.postgres, [
    '-D',
    pgdata,
    '-p',
    String(PORT),
    '-c',
    'listen_addresses=',
    '-c',
    `unix_socket_directories=${pgdata}`,
    '-c',
    'unix_socket_permissions=0700',
    '-c',
    'lc_messages=C',
    ...SMALL_DEVICE.flatMap((setting) => ['-c', setting]),
  ])
  let ready!: () => void
  const readyLine = new Promise<void>((resolve) => (ready = resolve))
  const output = captureLines(child, (line) => {
    log(/\b(WARNING|ERROR|FATAL|PANIC):/.test(line) ? 'warn' : 'info', `postgres: ${line}`)
    if (line.includes(READY)) ready()
  })
  const exited = waitExit(child, START_TIMEOUT_MS)
  const outcome = await Promise.race([readyLine.then(() => 'ready' as const), exited])
  const fail = async (why: string) => {
    await stopChild(child, log)
    return new EmbeddedPostgresError(`embedded postgres ${why} (DATA_DIR ${ctx.dataDir}): ${relevantLine(output)}`)
  }
  if (outcome === 'timeout') throw await fail(`did not start within ${START_TIMEOUT_MS / 1000} s`)
  if (outcome !== 'ready') {
    const lock = output.join('\n').match(/lock file "([^"]+)" already exists/)
    if (lock?.[1]) return { lockFile: lock[1] }
    throw await fail(`exited during start (${outcome})`)
  }
  child.once('exit', (code, signal) => {
    if (!stoppedOnPurpose.has(child))
      log('warn', `embedded postgres exited unexpectedly (${signal ?? `code ${code}`}): ${relevantLine(output)}`)
  })
  const error = await probe(connection, Date.now() + START_TIMEOUT_MS)
  if (error?.code === '28P01') {
    throw await fail(
      `rejected the password in ${path.join(ctx.dataDir, 'postgres-password')}; restore the file that belongs to ` +
        `this cluster`,
    )
  }
  if (error) throw await fail(`accepts no connections: ${error.message}`)
  return { child }
}

async function probe(
  connection: EmbeddedPostgres['connection'],
  deadline: number,
  giveUp = (failure: Error & { code?: string }) => failure.code === '28P01',
): Promise<(Error & { code?: string }) | null> {
  const db = pgPromise({ noWarnings: true })({ ...connection, max: 1 })
  try {
    for (;;) {
      try {
        await db.one('select 1')
        return null
      } catch (error) {
        const failure = error as Error & { code?: string }
        if (giveUp(failure) || Date.now() > deadline) return failure
        await sleep(100)
      }
    }
  } finally {
    await db.$pool.end()
    db.$pool.on('error', () => {}) // see the header: 57P01 on an ended pool
  }
}

const stoppedOnPurpose = new WeakSet<ChildProcess>()

async function stopChild(child: ChildProcess, log: Log): Promise<void> {
  stoppedOnPurpose.add(child)
  if (child.exitCode !== null || child.signalCode !== null) return
  child.kill('SIGINT') // fast shutdown: rolls back sessions, writes a checkpoint
  if ((await waitExit(child, STOP_TIMEOUT_MS)) !== 'timeout') return
  log('warn', `embedded postgres did not stop within ${STOP_TIMEOUT_MS / 1000} s; killing pid ${child.pid}`)
  child.kill('SIGKILL')
  await waitExit(child, STOP_TIMEOUT_MS)
}

async function readLockHolder(lockFile: string): Promise<{ pid: number; status: string; comm: string | null } | null> {
  const text = await fs.readFile(lockFile, 'utf8').catch(() => null)
  const pid = Number(text?.split('\n')[0])
  if (!text || !Number.isInteger(pid) || pid <= 0) return null
  const comm = await fs.readFile(`/proc/${pid}/comm`, 'utf8').then(
    (c) => c.trim(),
    () => null,
  )
  // Line 8 of postmaster.pid is the postmaster status ("starting", "ready", "stopping"...)
  return { pid, status: text.split('\n')[7]?.trim() ?? '', comm }
}

const ATTACH_TIMEOUT_MS = 10_000
// answers that will not change by waiting (57P03, "starting up", will)
const ATTACH_GIVE_UP = new Set(['ECONNREFUSED', 'ENOENT', 'EACCES', '28P01', '28000', '3D000'])

/**
 * The connection to the embedded server that another process (the running service) has on
 * DATA_DIR, or null when none answers there. The admin CLI uses it rather than start a second
 * server, which the lock would refuse anyway. Reaching the socket (0700 in postgres/) and the
 * password file takes the service's user or root.
 */
export async function findRunningEmbeddedPostgres(dataDir: string): Promise<EmbeddedPostgres['connection'] | null> {
  const pgdata = path.join(path.resolve(dataDir), 'postgres')
  const socket = path.join(pgdata, `.s.PGSQL.${PORT}`)
  const denied = () =>
    new EmbeddedPostgresError(`permission denied on ${pgdata}: run this as the user that runs the service, or as root`)
  try {
    await fs.stat(socket)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EACCES') throw denied()
    return null // no server has the socket open
  }
  const passwordFile = path.join(path.resolve(dataDir), 'postgres-password')
  const password = await fs.readFile(passwordFile, 'utf8').then(
    (text) => text.trim(),
    (error: NodeJS.ErrnoException) => {
      if (error.code === 'EACCES') throw denied()
      throw new EmbeddedPostgresError(`cannot read ${passwordFile} (${error.code}) while a server runs on ${pgdata}`)
    },
  )
  const connection = { host: pgdata, port: PORT, user: USER, password, database: DATABASE }
  const error = await probe(connection, Date.now() + ATTACH_TIMEOUT_MS, (failure) =>
    ATTACH_GIVE_UP.has(failure.code ?? ''),
  )
  if (!error) return connection
  // a socket file left by a server that is gone
  if (error.code === 'ECONNREFUSED' || error.code === 'ENOENT') return null
  if (error.code === 'EACCES') throw denied()
  throw new EmbeddedPostgresError(`the embedded server on ${pgdata} refused the connection: ${error.message}`)
}
