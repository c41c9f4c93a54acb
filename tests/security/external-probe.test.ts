// Regressions for what the outside probe found (docs/security.md#external-testing), black box over
// HTTP: stack traces logged for clients that drop mid-body (the real `node adapters/express.ts`, its
// stdout and stderr), and the Host, Expect and security-header rules. The lookalike names and
// Content-Encoding are rows of the POST /login and POST /register tables (tests/functions/).
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { createServer as createNetServer, connect, type AddressInfo } from 'node:net'
import { hostname, tmpdir } from 'node:os'
import path from 'node:path'
import pgPromise from 'pg-promise'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { serverDatabaseUrl } from '../helpers/runtime.ts'
import { strongPassword, uniqueUsername } from '../helpers/factories.ts'
import { client, expectHtmlSafety, rawRequest, type Client } from '../helpers/http.ts'
import { startService, type TestService } from '../helpers/service.ts'

const ROOT = path.resolve(import.meta.dirname, '../..')
/** A raw HTTP/1.1 exchange: what the server writes back before it closes the connection (or `waitMs` passes). */
function rawExchange(
  port: number,
  request: string,
  waitMs = 3_000,
): Promise<{ text: string; closedByServer: boolean }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(request))
    let text = ''
    let closedByServer = false
    const timer = setTimeout(() => finish(), waitMs)
    const finish = () => {
      clearTimeout(timer)
      socket.destroy()
      resolve({ text, closedByServer })
    }
    socket.on('data', (chunk: Buffer) => (text += chunk.toString('latin1')))
    socket.on('end', () => {
      closedByServer = true
      finish()
    })
    socket.on('error', reject)
  })
}

describe('external probe: Host, Expect and the security headers', () => {
  let service: TestService
  let http: Client
  let port: number

  beforeAll(async () => {
    service = await startService({ env: { ALLOWED_HOSTS: 'auth.example.com,.lan.example' } })
    http = client(service.baseUrl)
    port = Number(new URL(service.baseUrl).port)
  })
  afterAll(() => service?.stop())

  // fetch sets Host itself, so these go through node:http
  const withHost = async (host: string, accept: string, method = 'GET', body?: unknown) => {
    const headers: Record<string, string> = { host, accept, ...(body ? { 'content-type': 'application/json' } : {}) }
    const reply = await rawRequest(service.baseUrl, {
      method,
      path: '/login',
      headers,
      body: body ? Buffer.from(JSON.stringify(body)) : undefined,
    })
    return { ...reply, json: /json/.test(String(reply.headers['content-type'])) ? JSON.parse(reply.text) : undefined }
  }
  const get = (host: string, accept?: string) =>
    rawExchange(
      port,
      `GET /login HTTP/1.1\r\nHost: ${host}\r\nAccept: ${accept ?? 'application/json'}\r\nConnection: close\r\n\r\n`,
    )

  it('4.2.1 refuses a request with two Host headers with 400 (RFC 9112 §3.2), whichever comes first', async () => {
    for (const [first, second] of [
      ['127.0.0.1', 'evil.example'],
      ['evil.example', '127.0.0.1'],
      ['127.0.0.1', '127.0.0.1'],
    ]) {
      const { text } = await rawExchange(
        port,
        `GET /login HTTP/1.1\r\nHost: ${first}:${port}\r\nAccept: application/json\r\nHost: ${second}\r\nConnection: close\r\n\r\n`,
      )
      expect(text, `${first} then ${second}`).toMatch(/^HTTP\/1\.1 400 /)
      expect(text).toMatch(/"code":"validation_failed"/)
      expect(text).toMatch(/exactly one Host header/)
    }
    // one Host is fine
    expect((await get(`127.0.0.1:${port}`)).text).toMatch(/^HTTP\/1\.1 200 /)
  })

  it('answers its own names out of the box: IP addresses, localhost, the hostname and <hostname>.local', async () => {
    const name = hostname().toLowerCase()
    for (const host of [
      `127.0.0.1:${port}`,
      `[::1]:${port}`,
      '192.168.1.20',
      `localhost:${port}`,
      'LOCALHOST',
      name,
      `${name}.local:${port}`,
    ]) {
      expect((await get(host)).text, host).toMatch(/^HTTP\/1\.1 200 /)
    }
    // and what ALLOWED_HOSTS adds: a name, a domain with its subdomains
    for (const host of ['auth.example.com', 'Auth.Example.Com.', 'lan.example', 'gw.lan.example:8085']) {
      expect((await get(host)).text, host).toMatch(/^HTTP\/1\.1 200 /)
    }
  })

  it('answers a Host it does not know (DNS rebinding) with 421 misdirected_request naming ALLOWED_HOSTS', async () => {
    for (const host of [
      'evil.example',
      'rebind.attacker.test:8085',
      'example.com',
      'xauth.example.com',
      'lan.example.evil',
    ]) {
      const reply = await withHost(host, 'application/json')
      expect(reply.status, host).toBe(421)
      expect(reply.headers['content-type']).toMatch(/^application\/problem\+json/)
      expect(reply.json).toMatchObject({
        status: 421,
        code: 'misdirected_request',
        type: '/problems/misdirected_request',
      })
      expect(reply.json.detail).toContain('ALLOWED_HOSTS')
      expect(reply.json.detail).toContain(host.split(':')[0])
    }
    // a browser gets a page saying what to set, with the usual safety headers
    const page = await withHost('evil.example', 'text/html')
    expect(page.status).toBe(421)
    expect(page.headers['content-type']).toMatch(/^text\/html/)
    expect(page.text).toContain('ALLOWED_HOSTS')
    expect(page.text).not.toMatch(/<form/)
    expectHtmlSafety(new Headers(page.headers as Record<string, string>))
    // a POST is refused before anything is read, counted or stored
    const username = uniqueUsername('rebind')
    const post = await withHost('evil.example', 'application/json', 'POST', { username, password: strongPassword() })
    expect(post.json).toMatchObject({ status: 421, code: 'misdirected_request' })
    expect(await service.runtime.db.oneOrNone('SELECT 1 FROM users WHERE username = $1', [username])).toBeNull()
  })

  it('15.2.2 refuses a declared body over 16 KiB with Expect: 100-continue without inviting it (no 100 Continue)', async () => {
    const head = (length: number) =>
      `POST /login HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Type: application/json\r\nAccept: application/json\r\n` +
      `Content-Length: ${length}\r\nExpect: 100-continue\r\n\r\n`
    const big = await rawExchange(port, head(16 * 1024 + 1))
    expect(big.text).toMatch(/^HTTP\/1\.1 413 /)
    expect(big.text).not.toMatch(/100 Continue/)
    expect(big.text).toMatch(/"code":"payload_too_large"/)
    expect(big.closedByServer).toBe(true)
    // a body within the limit is invited, as HTTP says
    const small = await rawExchange(port, head(20), 500)
    expect(small.text).toMatch(/^HTTP\/1\.1 100 Continue\r\n/)
  })

  it('sends exactly the security headers docs/api.md lists, with the documented values', async () => {
    const doc = await readFile(path.join(ROOT, 'docs/api.md'), 'utf8')
    const table = doc.slice(
      doc.indexOf('<!-- security-headers:start -->'),
      doc.indexOf('<!-- security-headers:end -->'),
    )
    const documented = new Map(
      [...table.matchAll(/^\| `([A-Za-z-]+)` \| `([^`]+)`(.*?)\|/gm)].map((m) => [
        m[1]!.toLowerCase(),
        { value: m[2]!, rest: m[3]! },
      ]),
    )
    expect(documented.size).toBeGreaterThan(10)
    const transport = new Set([
      'connection',
      'content-length',
      'content-type',
      'date',
      'keep-alive',
      'transfer-encoding',
      'set-cookie',
      'vary',
    ])
    for (const reply of [
      await http.getHtml('/'),
      await http.getJson('/no-such-page'),
      await http.postJson('/login', {}),
    ]) {
      const sent = new Map([...reply.headers].filter(([name]) => !transport.has(name)))
      expect([...sent.keys()].sort(), `headers of a ${reply.status}`).toEqual([...documented.keys()].sort())
      for (const [name, { value, rest }] of documented) {
        if (name === 'permissions-policy') {
          // documented as its first feature and a count: every feature switched off but passkeys, which
          // only this origin's pages may use
          const features = sent
            .get(name)!
            .split(',')
            .map((f) => f.trim())
          const passkeys = /^publickey-credentials-(get|create)=\(self\)$/
          expect(
            features.every((f) => /^[a-z-]+=\(\)$/.test(f) || passkeys.test(f)),
            name,
          ).toBe(true)
          expect(features.filter((f) => passkeys.test(f))).toHaveLength(2)
          expect(features[0]).toBe(value.replace(/, …$/, ''))
          expect(`(${features.length} features`).toBe(/\(\d+ features/.exec(rest)?.[0])
        } else {
          expect(sent.get(name), name).toBe(value)
        }
      }
    }
  })
})

describe('external probe: a client that drops mid-body (the real npm start)', () => {
  let child: ChildProcessWithoutNullStreams | undefined
  let stdout = ''
  let stderr = ''
  let port = 0
  let dropSchema = async () => {}
  let dataDir = ''

  /** A free port, and a fresh schema (or DATA_DIR for the embedded database) for the process. */
  beforeAll(async () => {
    const probe = createNetServer().listen(0, '127.0.0.1')
    await new Promise((resolve) => probe.once('listening', resolve))
    port = (probe.address() as AddressInfo).port
    await new Promise((resolve) => probe.close(resolve))
    dataDir = await mkdtemp(path.join(tmpdir(), 'ga-abort-'))
    const env: Record<string, string> = { PORT: String(port), LOG_LEVEL: 'info', BCRYPT_COST: '10', DATA_DIR: dataDir }
    const runUrl = serverDatabaseUrl()
    if (runUrl) {
      const schema = `abort_${randomBytes(6).toString('hex')}`
      const admin = pgPromise()(runUrl)
      await admin.none('CREATE SCHEMA $1:name', [schema])
      const url = new URL(runUrl)
      url.searchParams.set('options', `-c search_path=${schema}`)
      env.DATABASE_URL = url.toString()
      dropSchema = async () => {
        await admin.none('DROP SCHEMA $1:name CASCADE', [schema]).finally(() => admin.$pool.end())
      }
    }
    child = spawn(process.execPath, ['adapters/express.ts'], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', ...env },
    })
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk))
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk))
    await waitFor(
      () => /gateway-auth listening/.test(stdout),
      60_000,
      () => `not listening: ${stdout} ${stderr}`,
    )
  }, 90_000)
  afterAll(async () => {
    if (child && child.exitCode === null) {
      child.kill('SIGTERM')
      await new Promise((resolve) => child!.once('exit', resolve))
    }
    await dropSchema()
    if (dataDir) await rm(dataDir, { recursive: true, force: true })
  })

  const lines = () => stdout.split('\n').filter(Boolean)

  it('16.2.4 logs a dropped or half-sent body as one JSON line at info, without a stack, and closes the socket', async () => {
    const head = `POST /login HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Type: application/json\r\nContent-Length: 4000\r\n\r\n`
    const before = lines().length
    // 1: the client disconnects mid-body
    await new Promise<void>((resolve) => {
      const socket = connect(port, '127.0.0.1', () => {
        socket.write(`${head}{"username":"alice","password":"`)
        setTimeout(() => {
          socket.destroy()
          resolve()
        }, 100)
      })
    })
    // 2: the client stops sending (half-close) mid-body: the server closes the connection
    const halfClosed = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1', () => {
        socket.write(`${head}{"username":"bob"`)
        setTimeout(() => socket.end(), 100)
      })
      const timer = setTimeout(() => resolve(false), 15_000) // bounded; a loaded machine is slow to close
      socket.on('close', () => {
        clearTimeout(timer)
        resolve(true)
      })
      socket.on('error', () => {})
      socket.resume()
    })
    expect(halfClosed, 'the server closed the socket').toBe(true)

    await waitFor(
      () =>
        lines()
          .slice(before)
          .filter((l) => l.includes('request_aborted')).length >= 2,
      10_000,
      () => stdout,
    )
    // the service is still there
    expect((await fetch(`http://127.0.0.1:${port}/health`)).status).toBe(200)

    const written = lines().slice(before)
    const parsed = written.map((line) => JSON.parse(line) as Record<string, unknown>) // every line is JSON
    const aborted = parsed.filter((line) => line.event === 'request_aborted')
    expect(aborted).toHaveLength(2)
    for (const line of aborted) {
      expect(line).toMatchObject({
        level: 30,
        service: 'gateway-auth',
        method: 'POST',
        path: '/login',
        clientIp: expect.stringMatching(/127\.0\.0\.1$/),
      })
      expect(line).not.toHaveProperty('err')
      expect(JSON.stringify(line)).not.toMatch(/\bat \S+ \(|stack/)
    }
    expect(
      parsed.filter((line) => Number(line.level) >= 50),
      'nothing at error',
    ).toEqual([])
    expect(stdout).not.toMatch(/adapter error/)
    expect(stderr).toBe('')
  })
})

async function waitFor(condition: () => boolean, timeoutMs: number, describe: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out: ${describe().slice(-2000)}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}
