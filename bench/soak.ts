// `npm run soak [-- --duration 60s]`: the service as its own process (`node adapters/express.ts`,
// the flags of `npm start`, the embedded database unless --database-url) under a bounded mixed
// workload for a duration (default 10 minutes): register, sign in, dashboard, password change,
// sign out, bad input and throttled guesses, from simulated clients (X-Forwarded-For from
// loopback, TRUST_PROXY=loopback; addresses of the benchmarking range 198.18.0.0/15, never sent to).
//
// Reports requests, status counts, p50/p99 per step, and over time the service's RSS, open file
// descriptors, database connections (pg_stat_activity) and the sizes of the sessions and throttle
// tables. Fails (exit 1) unless: no 5xx and no failed request, every answer the expected one, RSS
// after warm-up grows < 10 %, no more handles or connections when idle after the load than before
// it, and the sessions and throttle tables stay within what the sweeps allow. Sessions live
// SESSION_TTL_SECONDS=60 and the sweep runs every SWEEP_INTERVAL_SECONDS=10 so that minutes
// exercise them. Not part of `npm test`; a 60-second run is in .ci/run.
import { randomBytes } from 'node:crypto'
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { Agent, request } from 'node:http'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { parseArgs } from 'node:util'
import pgPromise from 'pg-promise'
import { connectToServiceDatabase, spawnService } from '../tests/helpers/service-process.ts'
import { imageCommandArgs } from './process.ts'

const { values: args } = parseArgs({
  options: {
    duration: { type: 'string', default: '10m' },
    concurrency: { type: 'string', default: '4' },
    'database-url': { type: 'string' },
    json: { type: 'string' },
  },
})

function seconds(text: string): number {
  const match = /^(\d+(?:\.\d+)?)(s|m|h)?$/.exec(text.trim())
  if (!match) throw new Error(`--duration: "${text}" is not like 60s, 10m or 1h`)
  return Number(match[1]) * { s: 1, m: 60, h: 3600 }[(match[2] ?? 's') as 's' | 'm' | 'h']
}

const DURATION_S = seconds(args.duration)
const CONCURRENCY = Number(args.concurrency)
const SESSION_TTL_S = 60
const SWEEP_S = 10
/** The pool's size in lib/platform/database.ts. */
const POOL_MAX = 10
/** Idle long enough for pg-pool to close idle clients (10 s) and the server keep-alive sockets (5 s). */
const IDLE_WAIT_MS = 12_000
const SAMPLE_S = Math.min(15, Math.max(2, Math.round(DURATION_S / 40)))
const WARM_UP_S = Math.min(120, Math.max(10, DURATION_S * 0.2))
const GUESSERS = 2
const VICTIMS = 2
const RSS_GROWTH_LIMIT = 0.1

// The image's CMD (npm start's V8 limits and compile cache, and the bundle it runs, made afresh): the
// soak measures the memory the gateway sees.
const imageArgs = await imageCommandArgs()
const script = imageArgs.at(-1)!
const nodeOptions = imageArgs.slice(0, -1)

/**
 * A database of the soak's own on the server, so pg_stat_activity's count (by database) is the
 * service's alone while other programs use the same server.
 */
async function createDatabase(serverUrl: string) {
  const pgp = pgPromise()
  const admin = pgp({ connectionString: serverUrl, max: 1 })
  const name = `gateway_auth_soak_${randomBytes(6).toString('hex')}`
  await admin.none('CREATE DATABASE $1:name', [name])
  const url = new URL(serverUrl)
  url.pathname = `/${name}`
  return {
    url: url.toString(),
    drop: () => admin.none('DROP DATABASE IF EXISTS $1:name WITH (FORCE)', [name]).finally(() => pgp.end()),
  }
}

// ---- the service ----------------------------------------------------------------------------
const dataDir = await mkdtemp(path.join(tmpdir(), 'ga-soak-'))
const serverDatabase = args['database-url'] ? await createDatabase(args['database-url']) : undefined
const env = {
  DATA_DIR: dataDir,
  ...(serverDatabase ? { DATABASE_URL: serverDatabase.url } : {}),
  BCRYPT_COST: '10',
  SESSION_TTL_SECONDS: String(SESSION_TTL_S),
  SWEEP_INTERVAL_SECONDS: String(SWEEP_S),
  TRUST_PROXY: 'loopback',
  REGISTRATIONS_PER_HOUR: '1000000',
  REGISTRATION: 'open',
  LOG_LEVEL: 'info',
}
console.log(
  `soak: ${DURATION_S} s, ${CONCURRENCY} clients, ${serverDatabase ? 'server' : 'embedded'} database, node ${imageArgs.join(' ')}`,
)
const service = await spawnService(env, undefined, nodeOptions, script)
const db = await connectToServiceDatabase(env)
const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY + 2 })

// ---- requests -------------------------------------------------------------------------------
interface Answer {
  status: number
  body: string
}
const stats = {
  byStep: new Map<string, { latencies: number[]; statuses: Map<number, number>; unexpected: number }>(),
  failures: [] as string[],
  unexpected: [] as string[],
}

function send(
  method: string,
  target: string,
  options: { json?: unknown; raw?: [string, string]; token?: string; from: string },
): Promise<Answer> {
  const headers: Record<string, string> = { accept: 'application/json', 'x-forwarded-for': options.from }
  let body: string | undefined
  if (options.json !== undefined) [headers['content-type'], body] = ['application/json', JSON.stringify(options.json)]
  if (options.raw) [headers['content-type'], body] = options.raw
  if (body !== undefined) headers['content-length'] = String(Buffer.byteLength(body))
  if (options.token) headers.authorization = `Bearer ${options.token}`
  return new Promise((resolve, reject) => {
    const req = request(`${service.baseUrl}${target}`, { method, headers, agent, timeout: 30_000 }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (chunk: Buffer) => chunks.push(chunk))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }))
      res.on('error', reject)
    })
    req.on('timeout', () => req.destroy(new Error('timed out after 30 s')))
    req.on('error', reject)
    req.end(body)
  })
}

/** One request of a step: timed, counted, and compared with the statuses it may get. */
async function step(
  name: string,
  expected: number[],
  method: string,
  target: string,
  options: Parameters<typeof send>[2],
) {
  const entry = stats.byStep.get(name) ?? { latencies: [], statuses: new Map<number, number>(), unexpected: 0 }
  stats.byStep.set(name, entry)
  const started = performance.now()
  try {
    const answer = await send(method, target, options)
    entry.latencies.push(performance.now() - started)
    entry.statuses.set(answer.status, (entry.statuses.get(answer.status) ?? 0) + 1)
    if (!expected.includes(answer.status)) {
      entry.unexpected++
      if (stats.unexpected.length < 20) stats.unexpected.push(`${name}: ${answer.status} ${answer.body.slice(0, 200)}`)
    }
    return answer
  } catch (error) {
    if (stats.failures.length < 20) stats.failures.push(`${name}: ${(error as Error).message}`)
    entry.statuses.set(0, (entry.statuses.get(0) ?? 0) + 1)
    return undefined
  }
}

const password = () => `soak harbor ${randomBytes(6).toString('hex')} lantern`
const loginTimes: number[] = []
let running = true

async function client(n: number, victims: string[]) {
  const from = `198.18.0.${n + 1}`
  const guessers = Array.from({ length: GUESSERS }, (_, i) => `198.19.0.${i + 1}`)
  for (let round = 0; running; round++) {
    const username = `soak-${n}-${round}-${randomBytes(3).toString('hex')}`
    let secret = password()
    await step('register', [201], 'POST', '/register', { json: { username, password: secret }, from })
    const login = await step('sign in', [200], 'POST', '/login', { json: { username, password: secret }, from })
    const token = login?.status === 200 ? (JSON.parse(login.body).access_token as string) : undefined
    if (token) loginTimes.push(Date.now())
    for (let i = 0; i < 2; i++) await step('dashboard', [200], 'GET', `/dashboard/${username}`, { token, from })
    const next = password()
    const changed = await step('password change', [204], 'POST', '/password', {
      json: { current_password: secret, new_password: next },
      token,
      from,
    })
    if (changed?.status === 204) secret = next
    await step('dashboard', [200], 'GET', `/dashboard/${username}`, { token, from })
    await badInput(round, username, token, from)
    await step('sign out', [204], 'POST', '/logout', { json: {}, token, from })
    await step('dashboard, signed out', [401], 'GET', `/dashboard/${username}`, { token, from })
    const victim = victims[round % victims.length]!
    const guesser = guessers[(n + round) % guessers.length]!
    await step('throttled guess', [401, 429], 'POST', '/login', {
      json: { username: victim, password: `guess ${round} of ${n}` },
      from: guesser,
    })
    if (round % 5 === 0) await step('health', [200], 'GET', '/health', { from })
  }
}

async function badInput(round: number, username: string, token: string | undefined, from: string) {
  switch (round % 6) {
    case 0:
      return step('bad input', [400], 'POST', '/register', {
        json: { username: 'no spaces allowed', password: 'short' },
        from,
      })
    case 1:
      return step('bad input', [400], 'POST', '/login', { raw: ['application/json', '{"username":'], from })
    case 2:
      return step('bad input', [415], 'POST', '/login', { raw: ['text/plain', 'username=x'], from })
    case 3:
      return step('bad input', [403], 'GET', `/dashboard/not-${username}`.slice(0, 40), { token, from })
    case 4:
      return step('bad input', [404], 'GET', '/no/such/page', { from })
    default:
      return step('bad input', [405], 'GET', '/password', { from })
  }
}

// ---- observation ----------------------------------------------------------------------------
interface Sample {
  t: number
  rssMb: number
  fds: number
  connections: number
  sessions: number
  throttle: number
  users: number
  staleSessions: number
  staleThrottle: number
  /** sessions the sweeps may still hold: sign-ins of the last TTL + sweep interval + slack */
  sessionBound: number
  /** throttle counters the workload can hold: its fixed keys, plus a success counter per recent sign-in */
  throttleBound: number
}

const procStatus = async (pid: number) => readFile(`/proc/${pid}/status`, 'utf8')
const rssMb = async (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(await procStatus(pid))?.[1] ?? 0) / 1024
const fds = async (pid: number) => (await readdir(`/proc/${pid}/fd`)).length
const SLACK_S = 5
// every counter the workload can make besides the success counters: per client, registrations and
// sign-in failures (its rows stay at zero after a success); per sign-in in flight, its (username,
// client) counter until it succeeds; per guesser and victim, failures and lockouts; per guesser,
// failures; the victims' registration
const FIXED_THROTTLE_KEYS = 3 * CONCURRENCY + 2 * GUESSERS * VICTIMS + GUESSERS + 1

async function sample(t: number): Promise<Sample> {
  const stale = SWEEP_S + SLACK_S
  const row = await db.one<{
    connections: number
    sessions: number
    throttle: number
    users: number
    stale_sessions: number
    stale_throttle: number
  }>(
    `SELECT
       (SELECT count(*)::int FROM pg_stat_activity
          WHERE application_name = 'gateway-auth' AND datname = current_database()) AS connections,
       (SELECT count(*)::int FROM sessions) AS sessions,
       (SELECT count(*)::int FROM throttle) AS throttle,
       (SELECT count(*)::int FROM users) AS users,
       (SELECT count(*)::int FROM sessions WHERE expires_at < now() - make_interval(secs => $1)) AS stale_sessions,
       (SELECT count(*)::int FROM throttle WHERE expire < (extract(epoch FROM now()) - $1) * 1000) AS stale_throttle`,
    [stale],
  )
  const since = Date.now() - (SESSION_TTL_S + SWEEP_S + SLACK_S) * 1000
  return {
    t,
    rssMb: await rssMb(service.pid),
    fds: await fds(service.pid),
    connections: row.connections,
    sessions: row.sessions,
    throttle: row.throttle,
    users: row.users,
    staleSessions: row.stale_sessions,
    staleThrottle: row.stale_throttle,
    sessionBound: loginTimes.filter((time) => time >= since).length + CONCURRENCY,
    // each sign-in leaves a success counter (LOGIN_SUCCESSES_PER_MINUTE) for its account and client
    // that lives a minute and then until the next sweep
    throttleBound:
      FIXED_THROTTLE_KEYS + loginTimes.filter((time) => time >= Date.now() - (60 + stale) * 1000).length + CONCURRENCY,
  }
}

// ---- the run --------------------------------------------------------------------------------
const victims: string[] = []
for (let i = 0; i < VICTIMS; i++) {
  const username = `victim-${i}-${randomBytes(3).toString('hex')}`
  await send('POST', '/register', { json: { username, password: password() }, from: '198.18.1.1' })
  victims.push(username)
}
await sleep(IDLE_WAIT_MS)
const idleBefore = await sample(0)

// A service that dies under the soak is the worst finding: stop at once and show why.
let stopping = false
void service.exited.then((exit) => {
  if (!stopping) void abort(`the service exited during the soak: ${JSON.stringify(exit)}`)
})

async function abort(reason: string): Promise<never> {
  running = false
  stopping = true
  const logFile = path.join(tmpdir(), `gateway-auth-soak-${Date.now()}.log`)
  await writeFile(logFile, service.output())
  console.log(`\nFAIL  ${reason}`)
  console.log(`  the service's last output (the last megabyte is in ${logFile}; DATA_DIR ${dataDir} is kept):`)
  for (const line of service.output().trimEnd().split('\n').slice(-30)) console.log(`  | ${line.slice(0, 300)}`)
  await db.$pool.end().catch(() => {})
  await service.stop()
  await serverDatabase?.drop().catch(() => {})
  process.exit(1)
}

const samples: Sample[] = []
const start = Date.now()
const elapsed = () => Math.round((Date.now() - start) / 100) / 10
const clients = Array.from({ length: CONCURRENCY }, (_, n) => client(n, victims))
const observer = (async () => {
  while (running) {
    await sleep(SAMPLE_S * 1000)
    const s = await sample(elapsed()).catch((error: Error) => abort(`observing failed: ${error.message}`))
    samples.push(s)
    const requests = [...stats.byStep.values()].reduce((sum, e) => sum + e.latencies.length, 0)
    console.log(
      `  t=${String(s.t).padStart(5)} s  requests ${String(requests).padStart(6)}  rss ${s.rssMb.toFixed(1)} MB  fds ${s.fds}  db ${s.connections}` +
        `  sessions ${s.sessions} (≤ ${s.sessionBound})  throttle ${s.throttle} (≤ ${s.throttleBound})  users ${s.users}`,
    )
  }
})()
await sleep(DURATION_S * 1000)
running = false
await Promise.all(clients)
await observer
const loadSeconds = (Date.now() - start) / 1000
agent.destroy()
await sleep(IDLE_WAIT_MS)
const idleAfter = await sample(elapsed()).catch((error: Error) => abort(`observing failed: ${error.message}`))

// ---- figures and verdict --------------------------------------------------------------------
const quantile = (sorted: number[], q: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN
const all = [...stats.byStep.values()].flatMap((e) => e.latencies).sort((a, b) => a - b)
const statusCounts = new Map<number, number>()
for (const entry of stats.byStep.values())
  for (const [status, n] of entry.statuses) statusCounts.set(status, (statusCounts.get(status) ?? 0) + n)
const fiveHundreds = [...statusCounts].filter(([status]) => status >= 500).reduce((sum, [, n]) => sum + n, 0)
const unexpected = [...stats.byStep.values()].reduce((sum, e) => sum + e.unexpected, 0)

const median = (values: number[]) =>
  quantile(
    [...values].sort((a, b) => a - b),
    0.5,
  )
const afterWarmUp = samples.filter((s) => s.t >= WARM_UP_S)
const quarter = Math.max(1, Math.floor(afterWarmUp.length / 4))
const rssStart = median(afterWarmUp.slice(0, quarter).map((s) => s.rssMb))
const rssEnd = median(afterWarmUp.slice(-quarter).map((s) => s.rssMb))
const rssGrowth = (rssEnd - rssStart) / rssStart
const allSamples = [...samples, idleAfter]

console.log(`\nrequests: ${all.length} in ${loadSeconds.toFixed(0)} s (${(all.length / loadSeconds).toFixed(1)}/s)`)
console.log(
  `statuses: ${[...statusCounts]
    .sort(([a], [b]) => a - b)
    .map(([s, n]) => `${s === 0 ? 'failed' : s} × ${n}`)
    .join(', ')}`,
)
console.log(`latency: p50 ${quantile(all, 0.5).toFixed(1)} ms, p99 ${quantile(all, 0.99).toFixed(1)} ms`)
for (const [name, entry] of stats.byStep) {
  const sorted = [...entry.latencies].sort((a, b) => a - b)
  console.log(
    `  ${name.padEnd(22)} ${String(sorted.length).padStart(6)}  p50 ${quantile(sorted, 0.5).toFixed(1).padStart(7)} ms  p99 ${quantile(sorted, 0.99).toFixed(1).padStart(7)} ms  ${[...entry.statuses].map(([s, n]) => `${s}×${n}`).join(' ')}`,
  )
}
console.log(
  `rss after warm-up (${WARM_UP_S} s): ${rssStart.toFixed(1)} → ${rssEnd.toFixed(1)} MB (${(rssGrowth * 100).toFixed(1)} %), max ${Math.max(...samples.map((s) => s.rssMb)).toFixed(1)} MB`,
)
console.log(
  `idle before → after: fds ${idleBefore.fds} → ${idleAfter.fds}, db connections ${idleBefore.connections} → ${idleAfter.connections}; max under load: fds ${Math.max(...samples.map((s) => s.fds))}, db ${Math.max(...samples.map((s) => s.connections))}`,
)
console.log(
  `tables at the end: sessions ${idleAfter.sessions}, throttle ${idleAfter.throttle} (bound ${idleAfter.throttleBound}), users ${idleAfter.users}`,
)

const criteria: [string, boolean][] = [
  [
    `no 5xx (${fiveHundreds}) and no failed request (${statusCounts.get(0) ?? 0})`,
    fiveHundreds === 0 && !statusCounts.get(0),
  ],
  [`every answer the expected one (${unexpected} not)`, unexpected === 0],
  [
    `RSS growth after warm-up < ${RSS_GROWTH_LIMIT * 100} % (${(rssGrowth * 100).toFixed(1)} %)`,
    afterWarmUp.length >= 2 && rssGrowth < RSS_GROWTH_LIMIT,
  ],
  [
    `no more open file descriptors when idle after the load (${idleBefore.fds} → ${idleAfter.fds})`,
    idleAfter.fds <= idleBefore.fds + 1,
  ],
  [
    `no more database connections when idle after the load (${idleBefore.connections} → ${idleAfter.connections}), never more than the pool's ${POOL_MAX}`,
    idleAfter.connections <= idleBefore.connections && allSamples.every((s) => s.connections <= POOL_MAX),
  ],
  [
    'sessions within what the sweep allows: no row ' +
      `${SWEEP_S + SLACK_S} s past expiry, never more than the sign-ins of the last TTL + sweep`,
    allSamples.every((s) => s.staleSessions === 0 && s.sessions <= s.sessionBound),
  ],
  [
    `throttle counters within the workload's keys (fixed ${FIXED_THROTTLE_KEYS} + recent sign-ins) and none ${SWEEP_S + SLACK_S} s past expiry`,
    allSamples.every((s) => s.throttle <= s.throttleBound && s.staleThrottle === 0),
  ],
]

stopping = true
await db.$pool.end()
await service.stop()
const exit = await service.exited
criteria.push([`stopped cleanly on SIGTERM (${JSON.stringify(exit)})`, exit.code === 0])
await serverDatabase?.drop()
await rm(dataDir, { recursive: true, force: true })

console.log('')
for (const [label, ok] of criteria) console.log(`${ok ? 'PASS' : 'FAIL'}  ${label}`)
for (const line of [...stats.failures, ...stats.unexpected]) console.log(`  ${line}`)
if (DURATION_S < SESSION_TTL_S + SWEEP_S) {
  console.log(`  (shorter than the session TTL + sweep interval: the sweeps were hardly exercised)`)
}
if (args.json) {
  await writeFile(
    args.json,
    JSON.stringify(
      {
        durationSeconds: DURATION_S,
        concurrency: CONCURRENCY,
        requests: all.length,
        statuses: Object.fromEntries(statusCounts),
        p50: quantile(all, 0.5),
        p99: quantile(all, 0.99),
        rssStart,
        rssEnd,
        rssGrowth,
        idleBefore,
        idleAfter,
        samples,
        criteria: Object.fromEntries(criteria),
      },
      null,
      2,
    ),
  )
}
process.exit(criteria.every(([, ok]) => ok) ? 0 : 1)
