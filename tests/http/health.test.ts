// GET /health and the service's answers while its database is gone: the embedded PostgreSQL is
// stopped underneath a running service (as a crash or an OOM kill would), then started again.
import { readFile } from 'node:fs/promises'
import path from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startEmbeddedPostgres, type EmbeddedPostgres } from '#lib/embedded-postgres/server.ts'
import { toProblem } from '#lib/problem.ts'
import { problemJson } from '#lib/http/problem-response.ts'
import { strongPassword, uniqueUsername } from '../helpers/factories.ts'
import { client, type Client } from '../helpers/http.ts'
import { expectProblem, expectNoSecrets } from '../helpers/expect.ts'
import { startService, type TestService } from '../helpers/service.ts'

/** Stops the embedded server by its postmaster.pid (fast shutdown) and waits until it is gone. */
async function stopPostgresUnderneath(dataDir: string): Promise<number> {
  const pid = Number((await readFile(path.join(dataDir, 'postgres', 'postmaster.pid'), 'utf8')).split('\n')[0])
  expect(pid).toBeGreaterThan(1)
  process.kill(pid, 'SIGINT')
  for (let i = 0; i < 200; i++) {
    try {
      process.kill(pid, 0)
    } catch {
      return pid
    }
    await sleep(50)
  }
  throw new Error(`postgres ${pid} did not stop`)
}

describe('GET /health and a lost database (embedded)', () => {
  let service: TestService
  let http: Client
  let restarted: EmbeddedPostgres | undefined
  const account = { username: uniqueUsername('Health'), password: strongPassword() }

  beforeAll(async () => {
    service = await startService({ kind: 'embedded' })
    http = client(service.baseUrl)
    expect((await http.postJson('/register', account)).status).toBe(201)
  })
  afterAll(async () => {
    await service?.stop()
    await restarted?.stop()
  })

  it('200 {"status":"ok","database":"ok"} while the database is up', async () => {
    const reply = await http.get('/health')
    expect(reply.status).toBe(200)
    expect(reply.contentType).toMatch(/^application\/json/)
    expect(reply.json).toEqual({ status: 'ok', database: 'ok' })
  })

  describe('after the database stops underneath the running service', () => {
    let token: string
    beforeAll(async () => {
      const login = await http.postJson('/login', account)
      expect(login.status).toBe(200)
      token = login.json.access_token
      await stopPostgresUnderneath(service.dataDir)
    })

    it('GET /health: 503 with "database": "unavailable"', async () => {
      const reply = await http.get('/health')
      expect(reply.status).toBe(503)
      expect(reply.contentType).toMatch(/^application\/json/)
      expect(reply.json).toMatchObject({ database: 'unavailable' })
      expect(reply.json.status).not.toBe('ok')
      expect(reply.headers.get('retry-after')).toBe('5')
      expectNoSecrets(reply.text)
    })

    it('a JSON login: 503 service_unavailable, no stack, no SQL, no socket path', async () => {
      const reply = await http.postJson('/login', account)
      expectProblem(reply, 503, 'service_unavailable', [account.password, service.runtime.jwtSecret, service.dataDir])
      expect(reply.json.detail).toBeUndefined()
      expect(reply.headers.get('retry-after')).toBe('5')
    })

    it('a form login: the 503 login page, the username kept, no internals', async () => {
      const reply = await http.postForm('/login', account)
      expect(reply.status).toBe(503)
      expect(reply.headers.get('retry-after')).toBe('5')
      expect(reply.contentType).toMatch(/^text\/html/)
      expect(reply.text).toContain('Service unavailable')
      expect(reply.text).toContain(`value="${account.username}"`)
      expectNoSecrets(reply.text, [account.password, service.runtime.jwtSecret, service.dataDir])
    })

    it('recovers once the database is back: health 200 and the old token and password work', async () => {
      restarted = await startEmbeddedPostgres({ dataDir: service.dataDir })
      // the pool drops its dead connections and connects again; give it a few attempts
      let health = await http.get('/health')
      for (let i = 0; i < 20 && health.status !== 200; i++) {
        await sleep(100)
        health = await http.get('/health')
      }
      expect(health.json).toEqual({ status: 'ok', database: 'ok' })
      expect((await http.getJson(`/dashboard/${account.username}`, { bearer: token })).status).toBe(200)
      expect((await http.postJson('/login', account)).status).toBe(200)
    })
  })
})

describe('toProblem: a database that cannot be reached is 503 service_unavailable, not 500', () => {
  const errno = (code: string, syscall: string, message: string) =>
    Object.assign(new Error(message), { code, syscall, errno: -1 })
  const sqlstate = (code: string, message: string) => Object.assign(new Error(message), { code, severity: 'FATAL' })

  it.each([
    ['the Unix socket of a stopped server', errno('ENOENT', 'connect', 'connect ENOENT /data/postgres/.s.PGSQL.5432')],
    ['a refused TCP connection', errno('ECONNREFUSED', 'connect', 'connect ECONNREFUSED 127.0.0.1:5432')],
    ['an unknown database host', errno('EAI_AGAIN', 'getaddrinfo', 'getaddrinfo EAI_AGAIN db')],
    ['a connection reset', errno('ECONNRESET', 'read', 'read ECONNRESET')],
    ['SQLSTATE 08006 connection_failure', sqlstate('08006', 'connection failure')],
    ['SQLSTATE 08001 cannot connect', sqlstate('08001', 'could not connect')],
    ['57P01 admin_shutdown', sqlstate('57P01', 'terminating connection due to administrator command')],
    ['57P02 crash_shutdown', sqlstate('57P02', 'terminating connection because of crash of another server process')],
    ['57P03 cannot_connect_now', sqlstate('57P03', 'the database system is starting up')],
    ['pg-pool timing out', new Error('timeout exceeded when trying to connect')],
    ['pg losing the connection', new Error('Connection terminated unexpectedly')],
    [
      'happy eyeballs giving up on every address',
      Object.assign(
        new AggregateError(
          [errno('ECONNREFUSED', 'connect', 'connect ECONNREFUSED ::1:5432')],
          'all addresses refused',
        ),
        { code: 'ECONNREFUSED' },
      ),
    ],
  ])('%s', (_label, error) => {
    const problem = toProblem(error)
    expect(problem.code).toBe('service_unavailable')
    expect(problem.status).toBe(503)
    expect(problem.extra.cause).toBe(error)
    const body = problemJson(problem).body!
    expect(JSON.parse(body)).toMatchObject({ status: 503, code: 'service_unavailable' })
    expect(body).not.toContain((error as Error).message)
  })

  it.each([
    ['a query error (undefined column)', sqlstate('42703', 'column "nope" does not exist')],
    ['a unique violation', sqlstate('23505', 'duplicate key value violates unique constraint')],
    [
      'a missing file (ENOENT outside connect)',
      errno('ENOENT', 'open', "ENOENT: no such file or directory, open 'templates/x.njk'"),
    ],
    ['a statement timeout', sqlstate('57014', 'canceling statement due to statement timeout')],
    ['a protocol violation (08P01: a NUL byte in query text)', sqlstate('08P01', 'invalid message format')],
    ['a plain bug', new TypeError("Cannot read properties of undefined (reading 'id')")],
    ['a thrown string', 'boom'],
  ])('%s stays internal_error', (_label, error) => {
    const problem = toProblem(error)
    expect(problem.code).toBe('internal_error')
    expect(problemJson(problem).body).not.toContain(typeof error === 'string' ? error : error.message)
  })
})
