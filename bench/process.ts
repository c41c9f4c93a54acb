// The processes the bench measures, each started as its users start it: the service by the image's
// CMD (npm start's command with its script bundled), the bare Express hello by bench/hello-express.mjs.
// Memory is read from /proc: RSS now and at peak (VmHWM) of the process (its worker threads
// included), and the proportional set size of an embedded PostgreSQL's processes together.
import { execFile, spawn, type ChildProcess } from 'node:child_process'
import { readFile, readdir } from 'node:fs/promises'
import path from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { promisify } from 'node:util'
import pgPromise from 'pg-promise'
import { freePort } from '../tests/helpers/service-process.ts'

const ROOT = path.resolve(import.meta.dirname, '..')

export interface Started {
  readonly child: ChildProcess
  readonly baseUrl: string
  /** Spawn to the first 200 of `readyPath`, in milliseconds. */
  readonly coldStartMs: number
  output(): string
}

/** The arguments of `npm start` after `node`: "node [flags] adapters/express.ts" → [flags…, script]. */
export async function startCommandArgs(): Promise<string[]> {
  const pkg = JSON.parse(await readFile(path.join(ROOT, 'package.json'), 'utf8')) as { scripts: { start: string } }
  const [program, ...args] = pkg.scripts.start.trim().split(/\s+/)
  if (program !== 'node') throw new Error(`the start script is not "node …": ${pkg.scripts.start}`)
  return args
}

/** The source files `npm run bundle` starts from (package.json): npm start's script and the bcrypt worker. */
export async function bundleEntries(): Promise<string[]> {
  const pkg = JSON.parse(await readFile(path.join(ROOT, 'package.json'), 'utf8')) as { scripts: { bundle: string } }
  return pkg.scripts.bundle.split(/\s+/).filter((arg) => !arg.startsWith('-') && arg.endsWith('.ts'))
}

/**
 * The arguments of the image's CMD after `node` (npm start's flags and the bundle of its script), with
 * the bundle made afresh in dist/server: the service as the gateway starts it.
 */
export async function imageCommandArgs(): Promise<string[]> {
  await promisify(execFile)('npm', ['run', '--silent', 'bundle'], { cwd: ROOT })
  const { readDockerfile } = await import('../tests/deploy/dockerfile.ts')
  const cmd = (await readDockerfile()).at(-1)!.find(({ op }) => op === 'CMD')!
  const [program, ...args] = JSON.parse(cmd.args) as string[]
  if (program !== 'node') throw new Error(`the image's CMD is not "node …": ${cmd.args}`)
  return args
}

export { freePort }

// every process started here, until it exits: a bench that fails half-way stops them all
const running = new Set<ChildProcess>()

/** Stops whatever this bench started and is still running. */
export async function stopAllProcesses(): Promise<void> {
  await Promise.all([...running].map(stopProcess))
}

/** Spawns `node args…` with `env`, then polls `readyPath` until it answers 200 (at most `timeoutMs`). */
export async function startProcess(
  args: string[],
  env: Record<string, string>,
  port: number,
  readyPath: string,
  timeoutMs = 60_000,
): Promise<Started> {
  const started = performance.now()
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    env: { ...process.env, ...env, PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  running.add(child)
  child.once('exit', () => running.delete(child))
  let output = ''
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-20_000)
  }
  child.stdout!.on('data', keep)
  child.stderr!.on('data', keep)
  const baseUrl = `http://127.0.0.1:${port}`
  while (performance.now() - started < timeoutMs) {
    if (child.exitCode !== null) throw new Error(`process exited with ${child.exitCode} before answering:\n${output}`)
    try {
      const reply = await fetch(baseUrl + readyPath)
      await reply.arrayBuffer()
      const coldStartMs = performance.now() - started
      if (reply.status === 200) return { child, baseUrl, coldStartMs, output: () => output }
    } catch {
      // not listening yet
    }
    await sleep(2)
  }
  child.kill('SIGKILL')
  throw new Error(`no 200 from ${readyPath} within ${timeoutMs} ms:\n${output}`)
}

/** One start of the bare Express hello, stopped again: spawn → its first 200, in milliseconds. */
export async function helloColdStartMs(): Promise<number> {
  const hello = await startProcess(['bench/hello-express.mjs'], {}, await freePort(), '/')
  await stopProcess(hello.child)
  return hello.coldStartMs
}

/** SIGTERM, then waits for the exit (SIGKILL after 10 s). */
export async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return
  const exited = new Promise((resolve) => child.once('exit', resolve))
  child.kill('SIGTERM')
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000)
  await exited
  clearTimeout(timer)
}

const mb = (kb: number) => Math.round(kb / 102.4) / 10

/** RSS now and the peak so far (VmHWM), in MB. */
export async function memoryOf(pid: number): Promise<{ rss: number; peak: number }> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8')
  const field = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(status)![1])
  return { rss: mb(field('VmRSS')), peak: mb(field('VmHWM')) }
}

/** Samples RSS every `everyMs` until stopped; returns the highest seen. */
export function sampleRss(pid: number, everyMs = 100) {
  let highest = 0
  const timer = setInterval(() => {
    memoryOf(pid).then(
      (m) => (highest = Math.max(highest, m.rss)),
      () => {},
    )
  }, everyMs)
  return {
    stop: () => {
      clearInterval(timer)
      return highest
    },
  }
}

/** The embedded PostgreSQL's memory: PSS of the postmaster and all its children, in MB. */
export async function postgresPss(dataDir: string): Promise<number> {
  const postmaster = Number((await readFile(path.join(dataDir, 'postgres', 'postmaster.pid'), 'utf8')).split('\n')[0])
  let totalKb = 0
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      const stat = await readFile(`/proc/${entry}/stat`, 'utf8')
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1])
      if (Number(entry) !== postmaster && ppid !== postmaster) continue
      const rollup = await readFile(`/proc/${entry}/smaps_rollup`, 'utf8')
      totalKb += Number(/^Pss:\s+(\d+)/m.exec(rollup)![1])
    } catch {
      // the process ended while we looked
    }
  }
  return mb(totalKb)
}

/** Runs `use` with the URL of a new database `name` on the server at `serverUrl`, dropped after. */
export async function inFreshDatabase<T>(
  serverUrl: string,
  name: string,
  use: (databaseUrl: string) => Promise<T>,
): Promise<T> {
  const pgp = pgPromise()
  const admin = pgp(serverUrl)
  await admin.none('CREATE DATABASE $1:name', [name])
  const database = new URL(serverUrl)
  database.pathname = `/${name}`
  try {
    return await use(database.toString())
  } finally {
    await admin.none('DROP DATABASE IF EXISTS $1:name WITH (FORCE)', [name])
    pgp.end()
  }
}
