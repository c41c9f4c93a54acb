// A flood of sign-ins over HTTP: the bcrypt pool's bounds (all clients: 503 + Retry-After; one
// client: 429), an unknown user taking the same pool path as a wrong password, the per-minute limit
// on successful sign-ins, the cap on live sessions, and /health staying 200 while the pool is full.
// The pool is filled from the test itself with slow hashes (cost 13) under chosen client addresses.
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import { databaseKinds } from '../helpers/runtime.ts'
import { strongPassword, uniqueUsername } from '../helpers/factories.ts'
import { expectProblem } from '../helpers/expect.ts'
import { hashPoolFor } from '#lib/auth/hash-pool.ts'
import { useService } from '../helpers/service.ts'

const SLOW_COST = 13

describe(`a flood of sign-ins (${databaseKinds()[0]} database)`, () => {
  const service = useService({
    env: {
      TRUST_PROXY: 'loopback',
      HASH_WORKERS: '1',
      HASH_QUEUE: '1',
      HASH_PER_CLIENT: '1',
      LOGIN_SUCCESSES_PER_MINUTE: '3',
      SESSIONS_PER_USER: '3',
    },
  })
  const account = { username: uniqueUsername('Flood'), password: strongPassword() }
  const from = (ip: string) => ({ headers: { 'x-forwarded-for': ip } })
  const signIn = (ip: string, credentials: object = account) => service.http.postJson('/login', credentials, from(ip))
  /** Occupies one place in the pool for `client` until the slow hash is done. */
  const occupy = (client: string) =>
    hashPoolFor(service.runtime)
      .run({ op: 'hash', password: 'filler', cost: SLOW_COST }, client)
      .catch(() => '')

  beforeAll(async () => {
    expect((await service.http.postJson('/register', account, from('192.0.2.1'))).status).toBe(201)
  })
  afterEach(() => {
    vi.restoreAllMocks()
  })

  it('refuses a client whose share of the pool is taken with 429 and Retry-After, and lets another client in', async () => {
    const filler = occupy('203.0.113.7')
    const [mine, other] = await Promise.all([signIn('203.0.113.7'), signIn('198.51.100.7')])
    expectProblem(mine, 429, 'rate_limited')
    expect(mine.headers.get('retry-after')).toBe('1')
    expect(other.status).toBe(200)
    await filler
  })

  it('answers 503 service_unavailable with Retry-After when the pool and its queue are full, and /health stays 200', async () => {
    const fillers = [occupy('203.0.113.8'), occupy('203.0.113.9')]
    expect(hashPoolFor(service.runtime).pending).toBe(2)
    const refused = await signIn('198.51.100.8')
    expectProblem(refused, 503, 'service_unavailable')
    expect(refused.headers.get('retry-after')).toBe('1')
    // the service itself is busy, the database is not: health says so
    const health = await service.http.get('/health')
    expect(health.status).toBe(200)
    expect(health.json).toEqual({ status: 'ok', database: 'ok' })
    // ends the slow hashes rather than waiting them out; the next task starts new threads
    await hashPoolFor(service.runtime).close()
    await Promise.all(fillers)
    expect((await signIn('198.51.100.8')).status).toBe(200)
  })

  it('runs an unknown user through the pool like a wrong password: one comparison, same client, same answer', async () => {
    const run = vi.spyOn(hashPoolFor(service.runtime), 'run')
    const unknown = await signIn('198.51.100.9', { username: uniqueUsername('Nobody'), password: strongPassword() })
    const wrong = await signIn('198.51.100.9', { username: account.username, password: strongPassword() })
    expect(run.mock.calls.map(([task, who]) => [task.op, who])).toEqual([
      ['compare', '198.51.100.9'],
      ['compare', '198.51.100.9'],
    ])
    expectProblem(unknown, 401, 'invalid_credentials')
    expect(unknown.json).toEqual(wrong.json)
  })

  it('limits successful sign-ins per account and client per minute, before any bcrypt work', async () => {
    const user = { username: uniqueUsername('Script'), password: strongPassword() }
    expect((await service.http.postJson('/register', user, from('192.0.2.2'))).status).toBe(201)
    for (let i = 0; i < 3; i++) expect((await signIn('198.51.100.10', user)).status).toBe(200)
    const run = vi.spyOn(hashPoolFor(service.runtime), 'run')
    const refused = await signIn('198.51.100.10', user)
    expectProblem(refused, 429, 'rate_limited')
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0)
    expect(run).not.toHaveBeenCalled()
    // the account itself is not locked: the same user from another client signs in
    expect((await signIn('198.51.100.11', user)).status).toBe(200)
  })

  it('keeps at most SESSIONS_PER_USER live sessions: the oldest ends when a new one starts', async () => {
    const user = { username: uniqueUsername('Many'), password: strongPassword() }
    expect((await service.http.postJson('/register', user, from('192.0.2.3'))).status).toBe(201)
    const tokens: string[] = []
    for (let i = 0; i < 4; i++) {
      const reply = await signIn(`198.51.100.${20 + i}`, user)
      expect(reply.status).toBe(200)
      tokens.push((reply.json as { access_token: string }).access_token)
    }
    expectProblem(
      await service.http.getJson(`/dashboard/${user.username}`, { bearer: tokens[0]! }),
      401,
      'unauthorized',
    )
    const newest = await service.http.getJson(`/dashboard/${user.username}`, { bearer: tokens[3]! })
    expect(newest.status).toBe(200)
    expect((newest.json as { sessions: unknown[] }).sessions).toHaveLength(3)
    for (const token of tokens.slice(1, 3)) {
      expect((await service.http.getJson(`/dashboard/${user.username}`, { bearer: token })).status).toBe(200)
    }
  })
})
