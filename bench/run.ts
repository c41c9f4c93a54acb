// `npm run bench`: the numbers in the README. Runs the real service (embedded PostgreSQL, Express
// adapter, loopback only) in this process and measures, with bounded loops:
//   bcrypt cost, embedded database start, login (and locked-out login) / dashboard / health latency
//   and throughput, memory.
// Speed and memory goals live here, never in tests.
import { chmod, mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import type { AddressInfo } from 'node:net'
import bcrypt from 'bcryptjs'
import { loadConfig } from '#lib/platform/config.ts'
import { startRuntime, stopRuntime } from '#lib/platform/runtime.ts'
import { startEmbeddedPostgres } from '#lib/embedded-postgres/server.ts'
import { createApp } from '../adapters/express-app.ts'

const COST = Number(process.env.BCRYPT_COST ?? 10)

function summary(samplesMs: number[]) {
  const sorted = [...samplesMs].sort((a, b) => a - b)
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!
  return { p50: round(at(0.5)), p95: round(at(0.95)), max: round(sorted.at(-1)!) }
}
const round = (n: number) => Math.round(n * 10) / 10

async function timed<T>(fn: () => Promise<T>): Promise<[T, number]> {
  const start = performance.now()
  const value = await fn()
  return [value, performance.now() - start]
}

/** `count` requests, `concurrency` at a time, each answered `status`; returns latencies and requests per second. */
async function load(count: number, concurrency: number, request: () => Promise<Response>, status = 200) {
  const latencies: number[] = []
  let next = 0
  const start = performance.now()
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next++ < count) {
        const [response, ms] = await timed(request)
        if (response.status !== status) throw new Error(`unexpected ${response.status}`)
        await response.arrayBuffer()
        latencies.push(ms)
      }
    }),
  )
  return { ...summary(latencies), rps: round((count / (performance.now() - start)) * 1000) }
}

async function pssMb(pid: number): Promise<number> {
  const rollup = await readFile(`/proc/${pid}/smaps_rollup`, 'utf8')
  return round(Number(/^Pss:\s+(\d+)/m.exec(rollup)![1]) / 1024)
}

const results: Record<string, unknown> = { node: process.version, arch: process.arch, bcryptCost: COST }

// bcrypt (bcryptjs, pure JS): one hash, one comparison
const hash = await bcrypt.hash('correct horse battery staple', COST)
const compares: number[] = []
for (let i = 0; i < 5; i++) compares.push((await timed(() => bcrypt.compare('correct horse battery staple', hash)))[1])
results.bcryptCompareMs = summary(compares)

// embedded PostgreSQL: first start (initdb) and a later start
const dir = await mkdtemp(path.join(tmpdir(), 'ga-bench-'))
// run as root, the embedded server's own account must be able to pass through this directory
await chmod(dir, 0o711)
const [first, firstMs] = await timed(() => startEmbeddedPostgres({ dataDir: path.join(dir, 'pg') }))
await first.stop()
const [second, secondMs] = await timed(() => startEmbeddedPostgres({ dataDir: path.join(dir, 'pg') }))
await second.stop()
results.embeddedStartMs = { first: round(firstMs), later: round(secondMs) }

// the service over HTTP on loopback
await startRuntime(
  loadConfig({
    DATA_DIR: path.join(dir, 'service'),
    BCRYPT_COST: String(COST),
    LOG_LEVEL: 'silent',
    REGISTRATION: 'open',
  }),
)
const server = (await createApp()).listen(0, '127.0.0.1')
await new Promise((resolve) => server.once('listening', resolve))
const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
const json = (body: unknown) => ({
  method: 'POST',
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify(body),
})
const credentials = { username: 'bench-user', password: 'harbor lantern quartz meadow' }
await fetch(`${base}/register`, json(credentials))
const { access_token: token } = (await (await fetch(`${base}/login`, json(credentials))).json()) as {
  access_token: string
}

results.loginRequest = await load(40, 2, () => fetch(`${base}/login`, json(credentials)))
// a locked-out guess is refused before bcrypt: what a lockout costs the gateway per request
const victim = { username: 'bench-victim', password: 'harbor lantern quartz meadow' }
await fetch(`${base}/register`, json(victim))
for (let i = 0; i < 5; i++) await fetch(`${base}/login`, json({ ...victim, password: `wrong guess ${i}` }))
results.lockedOutLoginRequest = await load(400, 8, () => fetch(`${base}/login`, json(victim)), 429)
results.dashboardRequest = await load(2000, 8, () =>
  fetch(`${base}/dashboard/bench-user`, { headers: { authorization: `Bearer ${token}`, accept: 'application/json' } }),
)
results.loginPageRequest = await load(2000, 8, () => fetch(`${base}/`))
results.healthRequest = await load(2000, 8, () => fetch(`${base}/health`))
// the postmaster's pid is the first line of its lock file
const postmasterPid = Number(
  (await readFile(path.join(dir, 'service', 'postgres', 'postmaster.pid'), 'utf8')).split('\n')[0],
)
results.memoryMb = {
  nodeRss: round(process.memoryUsage().rss / 1024 / 1024),
  postmasterPss: await pssMb(postmasterPid),
}

server.close()
await stopRuntime()
await rm(dir, { recursive: true, force: true })
console.log(JSON.stringify(results, null, 2))
