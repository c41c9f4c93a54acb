// ASVS 5.0 V13 Configuration (Level 1 and 2), black box: HTTP against the running service, the
// generated secret in DATA_DIR, and `node adapters/express.ts` started as a process with a bad
// environment. V12 (TLS) has no test here: the reverse proxy or API Gateway terminates TLS
// (docs/security.md says why for each requirement).
import { spawn } from 'node:child_process'
import { createHmac } from 'node:crypto'
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { databaseKinds } from '../helpers/runtime.ts'
import { strongPassword, uniqueUsername } from '../helpers/factories.ts'
import { client, rawRequest, type Client } from '../helpers/http.ts'
import { expectNoSecrets } from '../helpers/expect.ts'
import { ROUTES } from '#lib/http/routes.ts'
import { startService, type TestService } from '../helpers/service.ts'

const ROOT = path.resolve(import.meta.dirname, '../..')
const mode = async (file: string) => (await stat(file)).mode & 0o777

/** `npm start` with exactly this environment (nothing inherited but PATH): exit code and stderr. */
function startProcess(env: Record<string, string>): Promise<{ code: number | null; stderr: string; stdout: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['adapters/express.ts'], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', ...env },
    })
    let stderr = ''
    let stdout = ''
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk))
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk))
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000)
    child.on('error', reject)
    child.on('close', (code) => {
      clearTimeout(timer)
      resolve({ code, stderr, stdout })
    })
  })
}

describe('V13 Configuration', () => {
  const kind = databaseKinds()[0]!
  let service: TestService
  let http: Client

  beforeAll(async () => {
    // JWT_SECRET unset: the service generates its own secret into DATA_DIR
    service = await startService({ kind })
    http = client(service.baseUrl)
  })
  afterAll(async () => {
    await service?.stop()
  })

  describe('13.2 Backend communication configuration', () => {
    it('13.2.5 reads and serves only the static files known at start, nothing beside them', async () => {
      expect((await http.get('/static/style.css')).status).toBe(200)
      const probes = [
        '/static/package.json',
        '/static/login.njk',
        '/static/../templates/login.njk',
        '/static/..%2f..%2fpackage.json',
        '/static/%2e%2e%2fjwt-secret',
        '/static/style.css.map',
        '/static/STYLE.CSS',
        '/static/style.css%2500',
        '/templates/login.njk',
        '/templates/static/style.css',
        '/lib/config.ts',
        '/adapters/express.ts',
        '/package.json',
        '/node_modules/express/package.json',
        '/jwt-secret',
        '/data/jwt-secret',
      ]
      for (const target of probes) {
        // raw, so that ../ reaches the service as sent instead of being normalised by the client
        const reply = await rawRequest(service.baseUrl, {
          method: 'GET',
          path: target,
          headers: { accept: 'application/json' },
        })
        expect(reply.status, target).toBe(404)
        expect(reply.text, target).not.toMatch(/"dependencies"|\{%|import |:root|"version"/)
      }
    })
  })

  describe('13.3 Secret management', () => {
    it('13.3.1 the signing secret is generated per install (never in code), and a weak one stops the start without being echoed', async () => {
      // the token is signed with the secret generated into this DATA_DIR, not with something built in
      const secret = (await readFile(path.join(service.dataDir, 'jwt-secret'), 'utf8')).trim()
      expect(Buffer.byteLength(secret)).toBeGreaterThanOrEqual(32)
      const account = { username: uniqueUsername('v13'), password: strongPassword() }
      expect((await http.postJson('/register', account)).status).toBe(201)
      const token = (await http.postJson('/login', account)).json.access_token as string
      const [header, payload, signature] = token.split('.')
      expect(createHmac('sha256', secret).update(`${header}.${payload}`).digest('base64url')).toBe(signature)
      const source = await readFile(path.join(ROOT, 'lib/platform/jwt-secret.ts'), 'utf8')
      expect(source).not.toContain(secret)

      // a JWT_SECRET under 32 bytes: exit 1 with one line naming the variable, never its value
      const dataDir = await mkdtemp(path.join(tmpdir(), 'ga-v13-'))
      try {
        const weak = 'gateway-weak-secret-1234' // 24 bytes
        const leakyUrl = 'mysql://admin:hunter2-db-pass@db.example/auth'
        const run = await startProcess({ DATA_DIR: dataDir, JWT_SECRET: weak, DATABASE_URL: leakyUrl, PORT: '0' })
        expect(run.code).toBe(1)
        expect(run.stderr).toMatch(/^gateway-auth: .*JWT_SECRET/m)
        expect(run.stderr).toMatch(/^gateway-auth: .*DATABASE_URL/m)
        for (const leaked of [weak, 'hunter2-db-pass', leakyUrl]) {
          expect(run.stderr).not.toContain(leaked)
          expect(run.stdout).not.toContain(leaked)
        }
        expect(run.stderr).not.toMatch(/\n\s+at \S+/) // no stack trace on the console either
        // nothing was generated or started for a refused configuration
        await expect(stat(path.join(dataDir, 'jwt-secret'))).rejects.toThrow()
      } finally {
        await rm(dataDir, { recursive: true, force: true })
      }
    })

    it('13.3.2 the generated secret is readable by the service’s own user only (0600)', async () => {
      expect(await mode(path.join(service.dataDir, 'jwt-secret'))).toBe(0o600)
      // nobody else may list or change DATA_DIR; started as root, the embedded PostgreSQL runs as an
      // unprivileged account that must pass through it to reach its cluster: search (o+x) only
      const dataDirMode = await mode(service.dataDir)
      expect(dataDirMode & 0o076).toBe(0)
      const handedToAnotherUser = kind === 'embedded' && process.getuid?.() === 0
      expect(dataDirMode & 0o001).toBe(handedToAnotherUser ? 0o001 : 0)
    })
  })

  describe('13.4 Unintended information leakage', () => {
    // 13.4.1 (no source control metadata or environment file): tests/functions/not-found.test.ts

    it('13.4.2 no debug features: no debug routes, no framework banner, no stack traces in errors', async () => {
      // no debug routes: tests/functions/not-found.test.ts
      // malformed input of every kind: answered by the service, never by a framework's debug page
      const bad: [string, Parameters<typeof rawRequest>[1]][] = [
        [
          'broken JSON',
          {
            method: 'POST',
            path: '/login',
            headers: { 'content-type': 'application/json' },
            chunks: [Buffer.from('{"username": ')],
          },
        ],
        [
          'JSON array',
          {
            method: 'POST',
            path: '/login',
            headers: { 'content-type': 'application/json' },
            chunks: [Buffer.from('[1,2]')],
          },
        ],
        [
          'invalid UTF-8',
          {
            method: 'POST',
            path: '/login',
            headers: { 'content-type': 'application/json' },
            chunks: [Buffer.from([0x7b, 0xff, 0xfe, 0x7d])],
          },
        ],
        [
          '__proto__ keys',
          {
            method: 'POST',
            path: '/register',
            headers: { 'content-type': 'application/json' },
            chunks: [Buffer.from('{"__proto__":{"admin":true},"constructor":{"prototype":{}}}')],
          },
        ],
        [
          'deep JSON',
          {
            method: 'POST',
            path: '/login',
            headers: { 'content-type': 'application/json' },
            chunks: [Buffer.from('['.repeat(5000) + ']'.repeat(5000))],
          },
        ],
        [
          'form with odd encoding',
          {
            method: 'POST',
            path: '/login',
            headers: { 'content-type': 'application/x-www-form-urlencoded' },
            chunks: [Buffer.from('username=%E0%A4%A&password=%')],
          },
        ],
        [
          'Content-Length lies',
          {
            method: 'POST',
            path: '/login',
            headers: { 'content-type': 'application/json', 'content-length': '99999999' },
          },
        ],
        [
          'odd charset',
          {
            method: 'POST',
            path: '/login',
            headers: { 'content-type': 'application/json; charset=utf-32' },
            chunks: [Buffer.from('{}')],
          },
        ],
        ['odd Accept', { method: 'GET', path: '/', headers: { accept: 'application/json;q=x, */*;q=-1' } }],
        ['query string pollution', { method: 'GET', path: '/login?a=1&a=2&__proto__[x]=1&username[]=x', headers: {} }],
        ['bad %-encoding in a dashboard name', { method: 'GET', path: '/dashboard/%E0%A4%A', headers: {} }],
        ['bad %-encoding in a static file name', { method: 'GET', path: '/static/%', headers: {} }],
      ]
      for (const [label, request] of bad) {
        const reply = await rawRequest(service.baseUrl, request)
        expect(reply.status, label).toBeLessThan(500)
        expect(reply.headers['x-powered-by'], label).toBeUndefined()
        expect(reply.headers.server, label).toBeUndefined()
        expect(reply.headers['content-security-policy'], label).toMatch(/frame-ancestors 'none'/)
        expectNoSecrets(reply.text, [service.runtime.jwtSecret])
        expect(reply.text, label).not.toMatch(/Error:|at \w+ \(|<pre>/)
      }
    })

    // 13.4.3 (no directory listing): tests/functions/not-found.test.ts

    it('13.4.4 TRACE and TRACK are refused without echoing the request', async () => {
      const probe = 'x-probe-9d1c4e'
      for (const method of ['TRACE', 'TRACK']) {
        for (const target of ['/', '/login', '/nope']) {
          const reply = await rawRequest(service.baseUrl, {
            method,
            path: target,
            headers: { 'x-probe': probe, cookie: `session=${probe}`, authorization: `Bearer ${probe}` },
          })
          // TRACE: 405 (404 off the routes); TRACK is not HTTP at all, Node's parser answers 400
          expect([400, 404, 405], `${method} ${target}`).toContain(reply.status)
          if (method === 'TRACE') expect(reply.status).not.toBe(400)
          expect(reply.text).not.toContain(probe)
          expect(JSON.stringify(reply.headers)).not.toContain(probe)
          expect(reply.headers['content-type'] ?? '').not.toMatch(/message\/http/)
        }
      }
    })

    it('13.4.5 no monitoring or internal documentation endpoints; /openapi.json describes only the public routes; /health says only up or down', async () => {
      // no monitoring or documentation routes: tests/functions/not-found.test.ts
      // the one document served on purpose (issue 12): the public API as docs/api.md describes it,
      // its routes exactly the route table's, nothing about the host, the runtime or its versions
      const openapi = await http.getJson('/openapi.json')
      expect(openapi.status).toBe(200)
      const documented = Object.entries(openapi.json.paths as Record<string, object>).flatMap(([path, item]) =>
        Object.keys(item).map((method) => `${method.toUpperCase()} ${path}`),
      )
      expect(documented.sort()).toEqual(Object.keys(ROUTES).sort())
      expect(openapi.json.servers).toBeUndefined()
      expect(openapi.text).not.toMatch(/v?24\.\d+\.\d+|PostgreSQL 1\d|\/work\/|127\.0\.0\.1|jwt-secret/i)
      // /health says ok or unavailable and nothing more: tests/functions/health.test.ts
    })
  })
})
