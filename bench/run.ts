// `npm run bench`: the README's numbers, measured in one run, loopback only, every loop bounded.
// The service runs as its own process, started by the command of `npm start` with nothing but
// the bench's database, port and client-address settings; the load comes from autocannon in this
// process. On each database (a PostgreSQL server, then the embedded one) it measures:
//   cold start (spawn → first 200), registrations/s, sign-ins/s against the physical limit
//   (cores ÷ one bcrypt comparison, timed here) with the default pool and with a pool as large as
//   the cores, /health while sign-ins saturate the pool and under a flood of 50 correct sign-ins,
//   the authenticated dashboard (Bearer and cookie) and GET /account at 16 connections against a bare
//   Express 5 hello measured just before and after them (session cache on, and off:
//   SESSION_CACHE_ENTRIES=0), the service's RSS idle / after load / peak (the embedded PostgreSQL
//   apart), and on the server database the revocation latency across two instances (sign-out at A,
//   then the same token at B) and the front door (bench/front-door.ts): /auth/verify and a page
//   through Caddy.
// Prints a markdown table, writes bench/results.json. Exits non-zero on errors, never on timings.
// BENCH_SECONDS sets each load's length (6), BENCH_STARTS the later starts timed (5); BENCH_ONLY=authenticated
// runs only bench/authenticated.ts.
import { mkdtemp, rm, writeFile, chmod } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import autocannon from 'autocannon'
import bcrypt from 'bcryptjs'
import pgPromise from 'pg-promise'
import { table, type Results } from './table.ts'
import {
  freePort,
  helloColdStartMs,
  memoryOf,
  postgresPss,
  sampleRss,
  imageCommandArgs,
  startProcess,
  stopAllProcesses,
  stopProcess,
} from './process.ts'
import type { Started } from './process.ts'
import { frontDoor, frontDoorLines } from './front-door.ts'
import { runAuthenticated } from './authenticated.ts'

const COST = 10
const CORES = os.availableParallelism()
const SECONDS = Number(process.env.BENCH_SECONDS ?? 6)
// later starts of the service (and of the hello beside each) whose median is the cold start
const STARTS = Number(process.env.BENCH_STARTS ?? 5)
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!
const CONNECTIONS = 16
const SERVER_URL =
  process.env.BENCH_DATABASE_URL ?? process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres'
const PASSWORD = 'harbor lantern quartz meadow'
const round = (n: number, digits = 1) => Math.round(n * 10 ** digits) / 10 ** digits

// BENCH_ONLY=authenticated: only the authenticated requests, start and footprint (bench/authenticated.ts)
if (process.env.BENCH_ONLY === 'authenticated') {
  await runAuthenticated(SERVER_URL)
  process.exit(0)
}

// Every request comes from its own client address (X-Forwarded-For, believed from loopback only):
// the per-client limits are for one client, and the bench stands for many.
let clients = 0
const nextClient = () => {
  const n = ++clients
  return `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`
}
const jsonHeaders = () => ({ 'content-type': 'application/json', 'x-forwarded-for': nextClient() })

const REFERENCE_HASH = bcrypt.hashSync(PASSWORD, COST)
/** t(one bcrypt comparison) on this thread, median of `count` after a warm-up. */
function bcryptCompareMs(count = 15): number {
  const hash = REFERENCE_HASH
  bcrypt.compareSync(PASSWORD, hash)
  const times: number[] = []
  for (let i = 0; i < count; i++) {
    const start = performance.now()
    bcrypt.compareSync(PASSWORD, hash)
    times.push(performance.now() - start)
  }
  return times.sort((a, b) => a - b)[Math.floor(count / 2)]!
}

interface Load {
  rps: number
  ok: number
  other: Record<string, number>
  p50: number
  p99: number
  errors: number
}

async function cannon(options: autocannon.Options, okStatus = 200): Promise<Load> {
  const result = await autocannon({ connections: CONNECTIONS, duration: SECONDS, ...options })
  const other: Record<string, number> = {}
  let ok = 0
  for (const [code, { count }] of Object.entries(result.statusCodeStats ?? {})) {
    if (Number(code) === okStatus) ok = Number(count)
    else other[code] = Number(count)
  }
  return {
    rps: round(ok / (result.duration || SECONDS)),
    ok,
    other,
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors: result.errors + result.timeouts,
  }
}

const post = (base: string, route: string, body: unknown, headers: Record<string, string> = jsonHeaders()) =>
  fetch(base + route, { method: 'POST', headers, body: JSON.stringify(body) })

async function registrations(base: string, prefix: string): Promise<{ load: Load; users: string[] }> {
  const users: string[] = []
  let n = 0
  const load = await cannon(
    {
      url: base,
      duration: Math.max(3, SECONDS / 2),
      requests: [
        {
          method: 'POST',
          path: '/register',
          setupRequest: (request) => {
            const username = `${prefix}${n++}`
            return { ...request, headers: jsonHeaders(), body: JSON.stringify({ username, password: PASSWORD }) }
          },
          onResponse: (status, body) => {
            if (status === 201) users.push((JSON.parse(body) as { user: { username: string } }).user.username)
          },
        },
      ],
    },
    201,
  )
  return { load, users }
}

/**
 * Sign-ins at 16 connections, round the users, each from a new client; /health probed alongside.
 * On a shared machine the CPU one gets changes by the minute: t(one comparison) is measured just
 * before and just after, and the physical limit of this run is cores ÷ their mean.
 */
async function logins(base: string, users: string[]) {
  const before = bcryptCompareMs(7)
  let n = 0
  const signIns = cannon({
    url: base,
    requests: [
      {
        method: 'POST',
        path: '/login',
        setupRequest: (request) => ({
          ...request,
          headers: jsonHeaders(),
          body: JSON.stringify({ username: users[n++ % users.length], password: PASSWORD }),
        }),
      },
    ],
  })
  await sleep(1000) // the pool is saturated from here on
  const health = await cannon({ url: `${base}/health`, connections: 1, duration: SECONDS - 2, overallRate: 40 })
  const login = await signIns
  const compareMs = (before + bcryptCompareMs(7)) / 2
  return { login, health, compareMs: round(compareMs, 2), physicalLimitPerSecond: round((CORES * 1000) / compareMs) }
}

/** 50 correct sign-ins at once, three times, while /health is asked every 20 ms: any non-200 is false. */
async function flood(base: string, users: string[]) {
  const statuses: Record<string, number> = {}
  const health: number[] = []
  const healthStatuses: Record<string, number> = {}
  let flooding = true
  const prober = (async () => {
    while (flooding) {
      const start = performance.now()
      const reply = await fetch(`${base}/health`)
      await reply.arrayBuffer()
      health.push(performance.now() - start)
      healthStatuses[reply.status] = (healthStatuses[reply.status] ?? 0) + 1
      await sleep(20)
    }
  })()
  for (let round = 0; round < 3; round++) {
    const replies = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        post(base, '/login', { username: users[i % users.length], password: PASSWORD }),
      ),
    )
    for (const reply of replies) {
      statuses[reply.status] = (statuses[reply.status] ?? 0) + 1
      await reply.arrayBuffer()
    }
  }
  flooding = false
  await prober
  health.sort((a, b) => a - b)
  return {
    signIns: statuses,
    health: healthStatuses,
    healthMaxMs: round(health.at(-1) ?? 0),
    healthP99Ms: round(health[Math.floor(health.length * 0.99)] ?? 0),
  }
}

async function dashboard(base: string, username: string, { besideHello = true } = {}) {
  const reply = await post(base, '/login', { username, password: PASSWORD })
  if (reply.status !== 200) throw new Error(`sign-in for the dashboard answered ${reply.status}`)
  const { access_token: token } = (await reply.json()) as { access_token: string }
  const path = `/dashboard/${username}`
  // the hello just before and just after: the machine's speed drifts over the minutes of a run, and
  // the goal is a share of the hello's rate in the same minute
  const helloBefore = besideHello ? await helloExpress() : undefined
  const bearer = await cannon({
    url: base + path,
    headers: { authorization: `Bearer ${token}`, accept: 'application/json' },
  })
  const cookie = await cannon({ url: base + path, headers: { cookie: `session=${token}`, accept: 'application/json' } })
  // the account alone: a cached session answers it without any query
  const account = await cannon({ url: `${base}/account`, headers: { authorization: `Bearer ${token}` } })
  if (!helloBefore) return { bearer, cookie, account }
  const helloAfter = await helloExpress()
  return { bearer, cookie, account, helloRps: round((helloBefore.load.rps + helloAfter.load.rps) / 2) }
}

const TRIES = 100
const REVOCATION_TARGET_MS = 50
const cacheOn = (service: Started) => service.output().includes('"event":"session_cache","state":"on"')

/**
 * Sign-out through instance A, then the same token at instance B (a second process on the same
 * database) until refused, TRIES times: B serves the session from its cache before each sign-out.
 * Latency counts from A's answer to B's first refusal; after it, five more asks must all be refused.
 */
async function revocation(a: Started, b: Started, username: string) {
  for (let waited = 0; !(cacheOn(a) && cacheOn(b)); waited++) {
    if (waited > 500) throw new Error('the session caches did not go on')
    await sleep(10)
  }
  const path = `/dashboard/${username}`
  const ask = async (token: string) => {
    const reply = await fetch(b.baseUrl + path, {
      headers: { authorization: `Bearer ${token}`, accept: 'application/json' },
    })
    await reply.arrayBuffer()
    return reply.status
  }
  const latencies: number[] = []
  let acceptedAfterRefusal = 0
  let neverRefused = 0
  for (let i = 0; i < TRIES; i++) {
    const login = await post(a.baseUrl, '/login', { username, password: PASSWORD })
    if (login.status !== 200) throw new Error(`sign-in at A answered ${login.status}`)
    const { access_token: token } = (await login.json()) as { access_token: string }
    if ((await ask(token)) !== 200 || (await ask(token)) !== 200) throw new Error('B refused a live session')
    const logout = await post(a.baseUrl, '/logout', {}, { ...jsonHeaders(), authorization: `Bearer ${token}` })
    await logout.arrayBuffer()
    const answered = performance.now()
    let status = await ask(token)
    while (status === 200 && performance.now() - answered < 1000) status = await ask(token)
    if (status === 200) neverRefused++
    else latencies.push(performance.now() - answered)
    for (let k = 0; k < 5; k++) if ((await ask(token)) === 200) acceptedAfterRefusal++
  }
  latencies.sort((x, y) => x - y)
  return {
    tries: TRIES,
    withinTarget: latencies.filter((ms) => ms <= REVOCATION_TARGET_MS).length,
    p50Ms: round(latencies[Math.floor(latencies.length / 2)] ?? NaN, 2),
    maxMs: round(latencies.at(-1) ?? NaN, 2),
    neverRefused,
    acceptedAfterRefusal,
  }
}

interface DatabaseSetup {
  env: Record<string, string>
  dataDir: string
  embedded: boolean
  drop(): Promise<void>
}

async function serverDatabase(root: string): Promise<DatabaseSetup | undefined> {
  const pgp = pgPromise()
  const admin = pgp(SERVER_URL)
  const name = `gateway_auth_bench_${process.pid}`
  try {
    await admin.none('CREATE DATABASE $1:name', [name])
  } catch (error) {
    const reason = (error as Error).message
    console.error(
      `bench: no PostgreSQL server at BENCH_DATABASE_URL/TEST_DATABASE_URL (${reason}); server rows skipped`,
    )
    pgp.end()
    return undefined
  }
  const url = new URL(SERVER_URL)
  url.pathname = `/${name}`
  return {
    env: { DATABASE_URL: url.toString() },
    dataDir: path.join(root, 'server'),
    embedded: false,
    async drop() {
      await admin.none('DROP DATABASE IF EXISTS $1:name WITH (FORCE)', [name])
      pgp.end()
    },
  }
}

/** Everything measured on one database. */
async function onDatabase(kind: string, setup: DatabaseSetup, args: string[]) {
  const env = {
    ...setup.env,
    DATA_DIR: setup.dataDir,
    TRUST_PROXY: 'loopback',
    BCRYPT_COST: String(COST),
    REGISTRATION: 'open',
  }
  const spawn = async (extra: Record<string, string> = {}) =>
    startProcess(args, { ...env, ...extra }, await freePort(), '/health')
  const out: Record<string, unknown> = {}

  // first start: an empty database (embedded: initdb) and every migration
  const first = await spawn()
  out.coldStartFirstMs = round(first.coldStartMs, 0)
  // as any real first start, it runs on: the routes load and the compile cache is written
  await sleep(2000)
  await stopProcess(first.child)

  // later starts, each after a start of the bare Express hello: the goal is their ratio, and the
  // machine's load moves both, so each is the median of STARTS starts taken in turn
  const starts: { service: number[]; hello: number[] } = { service: [], hello: [] }
  for (let i = 0; i < STARTS; i++) {
    starts.hello.push(await helloColdStartMs())
    const later = await spawn()
    starts.service.push(later.coldStartMs)
    await stopProcess(later.child)
  }
  out.coldStartMs = round(median(starts.service), 0)
  out.helloColdStartMs = round(median(starts.hello), 0)

  let service: Started = await spawn()
  await sleep(1000)
  out.rssIdleMb = (await memoryOf(service.child.pid!)).rss
  const peakSampler = sampleRss(service.child.pid!)
  const registered = await registrations(service.baseUrl, `b${process.pid}${kind[0]}`)
  if (registered.users.length < 2) throw new Error(`registrations failed: ${JSON.stringify(registered.load)}`)
  out.registrations = registered.load
  out.defaultPool = await logins(service.baseUrl, registered.users)
  out.flood = await flood(service.baseUrl, registered.users)
  out.dashboard = await dashboard(service.baseUrl, registered.users[0]!)
  await sleep(2000)
  const after = await memoryOf(service.child.pid!)
  out.rssAfterLoadMb = after.rss
  out.rssPeakMb = Math.max(after.peak, peakSampler.stop())
  if (setup.embedded) out.postgresPssMb = await postgresPss(setup.dataDir)
  await stopProcess(service.child)
  // two instances side by side need a database both can reach: the server's
  if (!setup.embedded) {
    const [first, second] = [await spawn(), await spawn()]
    out.revocation = await revocation(first, second, registered.users[1]!)
    await Promise.all([stopProcess(first.child), stopProcess(second.child)])
  }

  // the same dashboard with the session cache off: every request reads the database (as before issue 19)
  service = await spawn({ SESSION_CACHE_ENTRIES: '0' })
  out.dashboardUncached = (await dashboard(service.baseUrl, registered.users[0]!, { besideHello: false })).bearer
  await stopProcess(service.child)

  // the physical limit needs every core: the same sign-ins with a pool as large as the cores
  service = await spawn({ HASH_WORKERS: String(CORES) })
  out.coresPool = await logins(service.baseUrl, registered.users)
  out.rssPeakCoresPoolMb = (await memoryOf(service.child.pid!)).peak
  await stopProcess(service.child)
  return out
}

async function helloExpress() {
  const hello = await startProcess(['bench/hello-express.mjs'], {}, await freePort(), '/')
  await sleep(500)
  const idle = (await memoryOf(hello.child.pid!)).rss
  const load = await cannon({ url: hello.baseUrl })
  const peak = (await memoryOf(hello.child.pid!)).peak
  await stopProcess(hello.child)
  return { coldStartMs: round(hello.coldStartMs, 0), rssIdleMb: idle, rssPeakMb: peak, load }
}

const root = await mkdtemp(path.join(os.tmpdir(), 'ga-bench-'))
// run as root, the embedded server's own account must be able to pass through this directory
await chmod(root, 0o711)
const args = await imageCommandArgs()
const compareMs = bcryptCompareMs()
const results: Record<string, unknown> = {
  machine: {
    cpu: os.cpus()[0]?.model,
    cores: CORES,
    memoryGb: round(os.totalmem() / 2 ** 30),
    arch: process.arch,
    node: process.version,
  },
  startCommand: `node ${args.join(' ')}`,
  bcryptCost: COST,
  bcryptCompareMs: round(compareMs, 2),
  physicalLimitPerSecond: round((CORES * 1000) / compareMs),
  seconds: SECONDS,
  connections: CONNECTIONS,
}
let failed = false
try {
  results.helloExpress = await helloExpress()
  const server = await serverDatabase(root)
  if (server) {
    try {
      results.server = await onDatabase('server', server, args)
      // the front door (bench/front-door.ts): /auth/verify and a page through Caddy, server database
      results.frontDoor = await frontDoor(args, server.env)
    } finally {
      await server.drop()
    }
  }
  const embedded = { env: {}, dataDir: path.join(root, 'embedded'), embedded: true, drop: async () => {} }
  results.embedded = await onDatabase('embedded', embedded, args)
} catch (error) {
  failed = true
  console.error('bench failed:', error)
} finally {
  // a failed step leaves its services running: they go before their files do
  await stopAllProcesses()
  await rm(root, { recursive: true, force: true })
}
const file = path.join(import.meta.dirname, 'results.json')
await writeFile(file, `${JSON.stringify(results, null, 2)}\n`)
console.log(table(results as unknown as Results))
if (results.frontDoor) console.log(frontDoorLines(results.frontDoor as never, results.helloExpress as never))
console.log(`\nJSON: ${path.relative(process.cwd(), file)}`)
process.exit(failed ? 1 : 0)
