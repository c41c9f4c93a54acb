// The authenticated part of the bench alone (issues 17 and 19), for measuring a change to the request
// path in a minute instead of the whole `npm run bench`: `BENCH_ONLY=authenticated npm run bench`
// (or `node bench/authenticated.ts`), server database only, in a database of its own. It measures
// the bare Express hello before and after the service (the share is of their mean, so a load that
// changes during the run tilts both), the service's cold start (first start, then the median of
// BENCH_STARTS later starts, each after one of the hello's, against their median) and RSS 1 s after
// start, then at 16 connections: the dashboard JSON (Bearer and cookie), GET /account (Bearer) and
// GET /auth/verify (cookie, as Caddy asks), with ACCESS_RULES set as the front door runs. It prints
// the load average with every figure. BENCH_CPU_PROF=<dir> runs the measured service under
// `node --cpu-prof` and leaves its profile there (open it in Chrome's DevTools).
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import {
  freePort,
  helloColdStartMs,
  inFreshDatabase,
  memoryOf,
  imageCommandArgs,
  startProcess,
  stopProcess,
} from './process.ts'
import { type FrontDoorLoad, load } from './front-door.ts'

const STARTS = Number(process.env.BENCH_STARTS ?? 3)
const PASSWORD = 'harbor lantern quartz meadow'
const round = (n: number, digits = 1) => Math.round(n * 10 ** digits) / 10 ** digits
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!
const loadAverage = () => os.loadavg().map((n) => round(n, 2))

type Load = FrontDoorLoad
const load16 = (url: string, headers: Record<string, string> = {}) => load(url, headers, 16)

async function hello() {
  const started = await startProcess(['bench/hello-express.mjs'], {}, await freePort(), '/')
  await sleep(1000)
  const rssIdleMb = (await memoryOf(started.child.pid!)).rss
  const figures = { coldStartMs: round(started.coldStartMs, 0), rssIdleMb, load: await load16(started.baseUrl) }
  await stopProcess(started.child)
  return figures
}

/** The service's start, footprint and authenticated requests on the server database `env`. */
export async function authenticated(args: string[], env: Record<string, string>) {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'ga-authenticated-'))
  const port = await freePort()
  const rules = path.join(dir, 'rules.yml')
  await writeFile(rules, `rules:\n  - { name: App, host: 'app.test', path: /, allow: signed_in }\n`)
  const settings = { ...env, DATA_DIR: dir, TRUST_PROXY: 'loopback', REGISTRATION: 'open', ACCESS_RULES: rules }
  const spawn = async (extraArgs: string[] = []) => startProcess([...extraArgs, ...args], settings, port, '/health')
  try {
    const first = await spawn()
    await sleep(2000) // as a real first start: the routes load and the compile cache is written
    await stopProcess(first.child)
    const starts: number[] = []
    const helloStarts: number[] = []
    const rss: number[] = []
    for (let i = 0; i < STARTS; i++) {
      // a start of the hello before each: the machine's load moves both (as npm run bench takes them)
      helloStarts.push(await helloColdStartMs())
      const later = await spawn()
      starts.push(later.coldStartMs)
      await sleep(1000)
      rss.push((await memoryOf(later.child.pid!)).rss)
      await stopProcess(later.child)
    }
    const profile = process.env.BENCH_CPU_PROF
    const service = await spawn(profile ? ['--cpu-prof', `--cpu-prof-dir=${path.resolve(profile)}`] : [])
    try {
      const json = { 'content-type': 'application/json', 'x-forwarded-for': '10.9.0.1' }
      for (const username of [`au${process.pid}`, `bu${process.pid}`]) {
        const body = JSON.stringify({ username, password: PASSWORD })
        await (await fetch(`${service.baseUrl}/register`, { method: 'POST', headers: json, body })).arrayBuffer()
      }
      // the first account (in admins, so its dashboard reads the gateway card too), as npm run bench
      const username = `au${process.pid}`
      const body = JSON.stringify({ username, password: PASSWORD })
      const signIn = await fetch(`${service.baseUrl}/login`, { method: 'POST', headers: json, body })
      const { access_token: token } = (await signIn.json()) as { access_token: string }
      const bearer = { authorization: `Bearer ${token}`, accept: 'application/json' }
      const cookie = { cookie: `session=${token}`, accept: 'application/json' }
      const forwarded = { 'x-forwarded-proto': 'http', 'x-forwarded-host': 'app.test', 'x-forwarded-uri': '/page' }
      return {
        coldStartFirstMs: round(first.coldStartMs, 0),
        coldStartMs: round(median(starts), 0),
        coldStartsMs: starts.map((ms) => round(ms, 0)),
        helloColdStartMs: round(median(helloStarts), 0),
        rssIdleMb: median(rss),
        dashboardBearer: await load16(`${service.baseUrl}/dashboard/${username}`, bearer),
        dashboardCookie: await load16(`${service.baseUrl}/dashboard/${username}`, cookie),
        account: await load16(`${service.baseUrl}/account`, bearer),
        verify: await load16(`${service.baseUrl}/auth/verify`, { ...forwarded, cookie: `session=${token}` }),
        rssPeakMb: (await memoryOf(service.child.pid!)).peak,
      }
    } finally {
      await stopProcess(service.child)
    }
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

/** Runs it all on a fresh database of the server at `url` and prints the figures. */
export async function runAuthenticated(url: string): Promise<void> {
  await inFreshDatabase(url, `gateway_auth_authenticated_${process.pid}`, async (database) => {
    const loadBefore = loadAverage()
    const helloBefore = await hello()
    const service = await authenticated(await imageCommandArgs(), { DATABASE_URL: database })
    const helloAfter = await hello()
    const helloRps = (helloBefore.load.rps + helloAfter.load.rps) / 2
    const share = (l: Load) => `${l.rps} req/s = ${round((100 * l.rps) / helloRps)} %, p50 ${l.p50} ms, p99 ${l.p99} ms`
    const nonOk = (l: Load) => (l.non2xx || l.errors ? ` (${l.non2xx} non-2xx, ${l.errors} errors)` : '')
    console.log(JSON.stringify({ helloBefore, helloAfter, service }, null, 2))
    console.log(
      [
        `load average before ${loadBefore.join(' ')}, after ${loadAverage().join(' ')}`,
        `hello: ${helloBefore.load.rps} / ${helloAfter.load.rps} req/s (p99 ${helloBefore.load.p99} / ` +
          `${helloAfter.load.p99} ms), cold start ${helloBefore.coldStartMs} / ${helloAfter.coldStartMs} ms, ` +
          `RSS idle ${helloBefore.rssIdleMb} MB`,
        `service cold start: first ${service.coldStartFirstMs} ms, later ${service.coldStartsMs.join(' / ')} ms ` +
          `(median ${service.coldStartMs} = ${round(service.coldStartMs / service.helloColdStartMs, 2)} × the ` +
          `hello's median of as many starts taken in turn, ${service.helloColdStartMs} ms); ` +
          `RSS 1 s after start ${service.rssIdleMb} MB, peak ${service.rssPeakMb} MB`,
        `dashboard JSON, Bearer: ${share(service.dashboardBearer)}${nonOk(service.dashboardBearer)}`,
        `dashboard JSON, cookie: ${share(service.dashboardCookie)}${nonOk(service.dashboardCookie)}`,
        `GET /account, Bearer: ${share(service.account)}${nonOk(service.account)}`,
        `GET /auth/verify, cookie: ${share(service.verify)}${nonOk(service.verify)}`,
      ].join('\n'),
    )
  })
}

if (import.meta.main) {
  await runAuthenticated(
    process.env.BENCH_DATABASE_URL ?? process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres',
  )
}
