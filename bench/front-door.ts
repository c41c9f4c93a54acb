// The front door's numbers (issue 17), part of `npm run bench` and runnable alone
// (`node bench/front-door.ts`, server database only):
//   - GET /auth/verify with a valid session cookie, 16 connections, against the bare Express hello
//     measured in the same run: req/s, its share of the hello's, p50/p99;
//   - a page of a protected app through Caddy (proxy/Caddyfile as shipped): the app alone, then
//     through Caddy with forward_auth, one connection, so p50 is the time each request costs and
//     the difference is what the front door adds.
import { spawnSync } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import autocannon from 'autocannon'
import { freePort, inFreshDatabase, imageCommandArgs, startProcess, stopProcess } from './process.ts'
import { startCaddy } from '../tests/helpers/proxies.ts'

const SECONDS = Number(process.env.BENCH_SECONDS ?? 6)
const PASSWORD = 'harbor lantern quartz meadow'
const round = (n: number, digits = 1) => Math.round(n * 10 ** digits) / 10 ** digits

export interface FrontDoorLoad {
  rps: number
  p50: number
  p99: number
  non2xx: number
  errors: number
}

/** autocannon at `connections` for BENCH_SECONDS: req/s, p50/p99, non-2xx and errors. */
export async function load(url: string, headers: Record<string, string>, connections: number): Promise<FrontDoorLoad> {
  const result = await autocannon({ url, headers, connections, duration: SECONDS })
  return {
    rps: round(result.requests.average),
    p50: result.latency.p50,
    p99: result.latency.p99,
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts,
  }
}

/** The front-door figures on the service `args` starts, with the database `env`. */
export async function frontDoor(args: string[], env: Record<string, string>) {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'ga-front-door-'))
  const proxyPort = await freePort()
  const host = `127.0.0.1:${proxyPort}`
  const rules = path.join(dir, 'rules.yml')
  await writeFile(rules, `rules:\n  - { name: App, host: '${host}', path: /chirpstack/, allow: signed_in }\n`)
  const service = await startProcess(
    args,
    { ...env, DATA_DIR: dir, TRUST_PROXY: 'loopback', REGISTRATION: 'open', ACCESS_RULES: rules },
    await freePort(),
    '/health',
  )
  const app = await startProcess(['bench/echo-app.mjs'], {}, await freePort(), '/')
  const json = { 'content-type': 'application/json' }
  const account = { username: `fd${process.pid}`, password: PASSWORD }
  const stopAll: (() => Promise<unknown>)[] = [() => stopProcess(service.child), () => stopProcess(app.child)]
  try {
    await fetch(`${service.baseUrl}/register`, { method: 'POST', headers: json, body: JSON.stringify(account) })
    const signIn = await fetch(`${service.baseUrl}/login`, {
      method: 'POST',
      headers: json,
      body: JSON.stringify(account),
    })
    const { access_token: token } = (await signIn.json()) as { access_token: string }
    const cookie = `session=${token}`
    const asked = {
      'x-forwarded-proto': 'http',
      'x-forwarded-host': host,
      'x-forwarded-uri': '/chirpstack/page',
      cookie,
    }
    const check = await fetch(`${service.baseUrl}/auth/verify`, { headers: asked })
    if (check.status !== 200) throw new Error(`/auth/verify answered ${check.status}`)
    const verify = await load(`${service.baseUrl}/auth/verify`, asked, 16)

    let caddy: { appAlone: FrontDoorLoad; throughCaddy: FrontDoorLoad; addedP50Ms: number } | undefined
    if (spawnSync('caddy', ['version']).status === 0) {
      const proxy = await startCaddy({ auth: new URL(service.baseUrl).host, app: new URL(app.baseUrl).host }, proxyPort)
      stopAll.unshift(() => proxy.stop())
      const appAlone = await load(`${app.baseUrl}/chirpstack/page`, {}, 1)
      const throughCaddy = await load(`${proxy.baseUrl}/chirpstack/page`, { cookie }, 1)
      if (throughCaddy.non2xx) throw new Error('the page through Caddy was refused')
      caddy = { appAlone, throughCaddy, addedP50Ms: round(throughCaddy.p50 - appAlone.p50, 2) }
    }
    return { verify, caddy }
  } finally {
    for (const stop of stopAll) await stop()
    await rm(dir, { recursive: true, force: true })
  }
}

/** The front-door figures as lines under the bench's table, with the share of the hello's rate. */
export function frontDoorLines(
  figures: Awaited<ReturnType<typeof frontDoor>>,
  hello: { load: { rps: number } },
): string {
  const { verify, caddy } = figures
  const share = round((100 * verify.rps) / hello.load.rps)
  const lines = [
    `\nfront door, load average ${os
      .loadavg()
      .map((n) => round(n, 2))
      .join(' ')}:`,
    `  GET /auth/verify, cookie, 16 connections: ${verify.rps} req/s = ${share} % of the Express hello; ` +
      `p50 ${verify.p50} ms, p99 ${verify.p99} ms`,
  ]
  if (caddy) {
    lines.push(
      `  a page through Caddy with forward_auth, 1 connection: p50 ${caddy.throughCaddy.p50} ms ` +
        `(the app alone ${caddy.appAlone.p50} ms): ${caddy.addedP50Ms} ms added`,
    )
  } else lines.push('  Caddy is not installed: no page through it measured')
  return lines.join('\n')
}

// alone: the hello, then the front door on a fresh server database, printed with the load average
if (import.meta.main) {
  const url =
    process.env.BENCH_DATABASE_URL ?? process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres'
  await inFreshDatabase(url, `gateway_auth_front_door_${process.pid}`, async (database) => {
    const hello = await startProcess(['bench/hello-express.mjs'], {}, await freePort(), '/')
    const helloLoad = await load(hello.baseUrl, {}, 16)
    await stopProcess(hello.child)
    const figures = await frontDoor(await imageCommandArgs(), { DATABASE_URL: database })
    const share = round((100 * figures.verify.rps) / helloLoad.rps)
    console.log(
      JSON.stringify({ loadAverage: os.loadavg().map((n) => round(n, 2)), hello: helloLoad, ...figures }, null, 2),
    )
    console.log(`verify: ${figures.verify.rps} req/s = ${share} % of the Express hello (${helloLoad.rps} req/s)`)
  })
}
