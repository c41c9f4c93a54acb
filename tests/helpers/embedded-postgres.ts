// Real PostgreSQL processes for the embedded-database tests, no mocks: each test gets its own short
// temp DATA_DIR, and whatever a test starts is stopped and removed after it (afterEach).
import { spawn, type ChildProcess } from 'node:child_process'
import fs from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import pgPromise from 'pg-promise'
import { afterEach } from 'vitest'
import { startEmbeddedPostgres, type EmbeddedPostgres } from '#lib/embedded-postgres/server.ts'

export const pgp = pgPromise({ noWarnings: true })
const CHILD = fileURLToPath(new URL('./embedded-postgres-child.ts', import.meta.url))
export const isRoot = process.getuid?.() === 0

const cleanups: (() => Promise<unknown>)[] = []
/** Runs `undo` after the current test, last registered first. */
export const afterThisTest = (undo: () => Promise<unknown>) => void cleanups.push(undo)
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => {})
})

export async function tempDir(): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ep-'))
  cleanups.push(() => fs.rm(dir, { recursive: true, force: true }))
  return dir
}

export async function start(
  dataDir: string,
  log?: (level: 'info' | 'warn', message: string) => void,
): Promise<EmbeddedPostgres> {
  const server = await startEmbeddedPostgres({ dataDir, ...(log ? { log } : {}) })
  cleanups.push(() => server.stop())
  return server
}

/** Runs `use` on a fresh pool and closes it so that stopping the server later cannot crash Node. */
export async function withDb<T>(
  connection: EmbeddedPostgres['connection'],
  use: (db: pgPromise.IDatabase<unknown>) => Promise<T>,
): Promise<T> {
  const db = pgp(connection)
  try {
    return await use(db)
  } finally {
    await db.$pool.end()
    db.$pool.on('error', () => {})
  }
}

/** Alive and not a zombie waiting to be reaped. */
export async function running(pid: number): Promise<boolean> {
  const stat = await fs.readFile(`/proc/${pid}/stat`, 'utf8').catch(() => null)
  return stat !== null && !/^\d+ \(.*\) Z/.test(stat)
}

export interface ChildReport {
  pid?: number
  connection?: EmbeddedPostgres['connection']
  error?: string
  name?: string
}

export function spawnOwner(dataDir: string): { child: ChildProcess; report: Promise<ChildReport> } {
  const child = spawn(process.execPath, [CHILD, dataDir], { stdio: ['pipe', 'pipe', 'inherit'] })
  cleanups.push(async () => {
    child.stdin?.end()
    if (child.exitCode === null && child.signalCode === null)
      await new Promise((resolve) => child.once('exit', resolve))
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
