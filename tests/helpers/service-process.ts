// The service as its own process, exactly as `npm start` runs it (`node adapters/express.ts`), for
// the tests and tools that must kill, restart or watch it from outside: the crash test and the soak.
// No vitest here: bench/soak.ts uses it too.
import { spawn, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { createServer } from 'node:net'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import pgPromise from 'pg-promise'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const START_TIMEOUT_MS = 90_000
const OUTPUT_KEPT = 1024 * 1024

export interface ServiceProcess {
  readonly pid: number
  readonly port: number
  readonly baseUrl: string
  readonly child: ChildProcess
  /** What the process wrote to stdout and stderr (the last megabyte or so). */
  output(): string
  /** Its JSON log lines so far. */
  logLines(): Record<string, unknown>[]
  /** Resolves when the process has exited. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
  /** SIGTERM and wait: the graceful stop. */
  stop(): Promise<void>
}

/** A TCP port nothing listens on right now. */
export async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  await new Promise((resolve) => server.close(resolve))
  return port
}

/**
 * Starts `node adapters/express.ts` (or `script`: the soak runs the image's bundle) with `env` (on top
 * of PATH and HOME only: nothing else of this process's environment leaks in) in its own process
 * group, so a test can kill the service and its embedded PostgreSQL together. Resolves once it listens.
 */
export async function spawnService(
  env: Record<string, string>,
  port?: number,
  nodeOptions: string[] = [],
  script = 'adapters/express.ts',
): Promise<ServiceProcess> {
  const listenOn = port ?? (await freePort())
  const child = spawn(process.execPath, [...nodeOptions, script], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/root', PORT: String(listenOn), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  })
  let text = ''
  // a soak logs for minutes: keep the last megabyte or so, from a line start
  const keep = (chunk: string) => {
    text += chunk
    if (text.length > 2 * OUTPUT_KEPT) text = text.slice(text.indexOf('\n', text.length - OUTPUT_KEPT) + 1)
  }
  child.stdout!.setEncoding('utf8').on('data', keep)
  child.stderr!.setEncoding('utf8').on('data', keep)
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  )
  // whole lines only: the last one may still be arriving
  const logLines = () =>
    text
      .split('\n')
      .slice(0, -1)
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as Record<string, unknown>)

  const started = Date.now()
  while (!logLines().some((line) => line.msg === 'gateway-auth listening')) {
    const done = await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 50, undefined))])
    if (done) throw new Error(`the service exited before listening: ${JSON.stringify(done)}\n${text}`)
    if (Date.now() - started > START_TIMEOUT_MS) {
      child.kill('SIGKILL')
      throw new Error(`the service did not listen within ${START_TIMEOUT_MS} ms\n${text}`)
    }
  }
  return {
    pid: child.pid!,
    port: listenOn,
    baseUrl: `http://127.0.0.1:${listenOn}`,
    child,
    output: () => text,
    logLines,
    exited,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM')
      await exited
    },
  }
}

/** The pid in DATA_DIR/postgres/postmaster.pid (the embedded server's postmaster), if any. */
export async function postmasterPid(dataDir: string): Promise<number | undefined> {
  const text = await readFile(path.join(dataDir, 'postgres', 'postmaster.pid'), 'utf8').catch(() => '')
  const pid = Number(text.split('\n')[0])
  return pid > 1 ? pid : undefined
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

const pgp = pgPromise()

/** A pg-promise connection to the database a service uses: DATABASE_URL, or its embedded server in DATA_DIR. */
export async function connectToServiceDatabase(env: { DATABASE_URL?: string; DATA_DIR: string }) {
  if (env.DATABASE_URL)
    return pgp({ connectionString: env.DATABASE_URL, max: 2, application_name: 'gateway-auth-observer' })
  const password = (await readFile(path.join(env.DATA_DIR, 'postgres-password'), 'utf8')).trim()
  return pgp({
    host: path.join(env.DATA_DIR, 'postgres'),
    port: 5432,
    user: 'gateway_auth',
    password,
    database: 'postgres',
    max: 2,
    application_name: 'gateway-auth-observer',
  })
}

/** A schema of its own in a server database, and a DATABASE_URL whose search_path puts the service in it. */
export async function createServerSchema(databaseUrl: string, prefix = 'crash') {
  const name = `${prefix}_${randomBytes(6).toString('hex')}`
  const admin = pgp({ connectionString: databaseUrl, max: 1 })
  await admin.none('CREATE SCHEMA $1:name', [name])
  const url = new URL(databaseUrl)
  url.searchParams.set('options', `-c search_path=${name}`)
  return {
    url: url.toString(),
    drop: () => admin.none('DROP SCHEMA $1:name CASCADE', [name]).finally(() => admin.$pool.end()),
  }
}
