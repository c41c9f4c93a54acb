// The session cache on its own (lib/auth/session-cache.ts) and in this process's authentication
// (lib/auth/sessions.ts) with no listener running: what this process writes must drop its own
// entries right after COMMIT, without waiting for a NOTIFY. Across processes: tests/http/session-cache.test.ts.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { SessionCache } from '#lib/auth/session-cache.ts'
import { listenForRevocations, usersNamed } from '#lib/auth/session-revocations.ts'
import { listLiveSessions } from '#lib/auth/session-list.ts'
import {
  type CachedSession,
  createSession,
  revokeSession,
  revokeUserSessions,
  sessionCache,
  validateSession,
} from '#lib/auth/sessions.ts'
import { createUser } from '#lib/auth/users.ts'
import type { Config } from '#lib/platform/config.ts'
import { Problem } from '#lib/problem.ts'
import { useService } from '../helpers/service.ts'
import { uniqueUsername } from '../helpers/factories.ts'

const entry = (id: string, userId: string) => ({ session: { id, userId } })
// the Lambda transport: a runtime and its database, no port
const service = useService({ transport: 'lambda' })
const runtime = () => service.runtime

describe('SessionCache', () => {
  type Cache = SessionCache<ReturnType<typeof entry>, string>
  const fill = (cache: Cache, ...entries: [string, string][]) => {
    for (const [id, userId] of entries) cache.store(cache.startFill(), id, entry(id, userId))
  }
  const cacheOf = (maxEntries: number, ...entries: [string, string][]) => {
    const cache: Cache = new SessionCache()
    cache.switchOn(maxEntries)
    fill(cache, ...entries)
    return cache
  }

  it('serves what it stored, by its key (the verified token)', () => {
    const cache = cacheOf(10, ['s1', 'u1'])
    expect(cache.find('s1')).toEqual(entry('s1', 'u1'))
    expect(cache.find('s2')).toBeUndefined()
  })

  it('holds at most maxEntries, dropping the least recently used', () => {
    const cache = cacheOf(2, ['s1', 'u1'], ['s2', 'u1'])
    cache.find('s1')
    cache.store(cache.startFill(), 's3', entry('s3', 'u2'))
    expect([cache.find('s1'), cache.find('s2'), cache.find('s3')].map((e) => e?.session.id)).toEqual([
      's1',
      undefined,
      's3',
    ])
    expect(cache.size).toBe(2)
  })

  it.each([
    ['one user', ['u1'], [undefined, undefined, 's3']],
    ['two users', ['u1', 'u2'], [undefined, undefined, undefined]],
    ['everyone (*)', ['*'], [undefined, undefined, undefined]],
    ['a user it does not hold', ['u9'], ['s1', 's2', 's3']],
  ])('forgetting %s drops exactly their sessions', (_, users, left) => {
    const cache = cacheOf(10, ['s1', 'u1'], ['s2', 'u1'], ['s3', 'u2'])
    cache.forgetUsers(users)
    expect(['s1', 's2', 's3'].map((id) => cache.find(id)?.session.id)).toEqual(left)
  })

  it('does not store a read that began before a drop (it may have read the row as it was)', () => {
    const cache = cacheOf(10)
    const ticket = cache.startFill()
    cache.forgetUsers(['u7'])
    cache.store(ticket, 's1', entry('s1', 'u1'))
    expect(cache.find('s1')).toBeUndefined()
  })

  it.each([
    ['kept while the user has an entry', () => {}, 'list'],
    ['dropped with the user', (cache: Cache) => cache.forgetUsers(['u1']), undefined],
    ['dropped with everyone', (cache: Cache) => cache.forgetUsers(['*']), undefined],
    ['kept when another user is dropped', (cache: Cache) => cache.forgetUsers(['u2']), 'list'],
    [
      "dropped when the user's last entry is pushed out",
      (cache: Cache) => fill(cache, ['s2', 'u2'], ['s3', 'u2']),
      undefined,
    ],
    ['dropped when the cache goes off', (cache: Cache) => cache.switchOff(), undefined],
  ])("a user's list is %s", (_, then, left) => {
    const cache = cacheOf(2, ['s1', 'u1'])
    cache.storeList(cache.startFill(), 'u1', 'list')
    then(cache)
    expect(cache.findList('u1')).toBe(left)
  })

  it('stores no list for a user without an entry, nor one read before a drop', () => {
    const cache = cacheOf(10, ['s1', 'u1'])
    cache.storeList(cache.startFill(), 'u2', 'list')
    const ticket = cache.startFill()
    cache.forgetUsers(['u9'])
    cache.storeList(ticket, 'u1', 'list')
    expect([cache.findList('u2'), cache.findList('u1')]).toEqual([undefined, undefined])
  })

  it('serves and stores nothing while off, and comes back on empty', () => {
    const cache = cacheOf(10, ['s1', 'u1'])
    cache.switchOff()
    expect(cache.on).toBe(false)
    expect(cache.startFill()).toBeUndefined()
    cache.store(cache.startFill(), 's2', entry('s2', 'u1'))
    expect(cache.find('s1')).toBeUndefined()
    const ticketWhileOff = cache.startFill()
    cache.switchOn(10)
    cache.store(ticketWhileOff, 's3', entry('s3', 'u1'))
    expect([cache.size, cache.find('s3')]).toEqual([0, undefined])
  })
})

describe('the notification payload', () => {
  it.each([
    ['public:42', 'public', ['42']],
    ['public:*', 'public', ['*']],
    ['other:42', 'public', []],
    ['a:b:42', 'a:b', ['42']],
    ['public:42', 'public:4', []],
  ])('%s heard by schema %s → drops %j', (payload, schema, users) => {
    expect(usersNamed(payload, schema)).toEqual(users)
  })
})

describe('authentication through the cache in this process (no listener: only local drops)', () => {
  const N = new Date('2001-01-01T00:00:00.000Z')
  const plus = (seconds: number) => new Date(N.getTime() + seconds * 1000)
  beforeAll(() => sessionCache.switchOn(100))
  afterAll(() => sessionCache.switchOff())
  const code = (promise: Promise<unknown>) =>
    promise.then(
      () => 'accepted',
      (error: unknown) => (error instanceof Problem ? error.code : String(error)),
    )
  const signedIn = async () => {
    const user = await createUser(runtime().db, uniqueUsername('c'), `$2b$10$${'x'.repeat(53)}`, N)
    return { user, ...(await createSession(runtime().db, user, N, runtime())) }
  }

  it('answers a cached session without the database, and checks its expiry against the clock given', async () => {
    const { session, token } = await signedIn()
    expect(await code(validateSession(runtime().db, token, plus(10), runtime()))).toBe('accepted')
    expect(sessionCache.find(token)).toBeDefined()
    // a revocation this process never wrote (and no listener): the entry still answers
    await runtime().db.none('UPDATE sessions SET revoked_at = $2 WHERE id = $1', [session.id, plus(11)])
    expect(await code(validateSession(runtime().db, token, plus(12), runtime()))).toBe('accepted')
    expect(await code(validateSession(runtime().db, token, plus(3600), runtime()))).toBe('session_expired')
    sessionCache.forgetUsers(['*'])
  })

  it('a revocation written here is refused in the next call, with no NOTIFY', async () => {
    const { session, token } = await signedIn()
    expect(await code(validateSession(runtime().db, token, plus(10), runtime()))).toBe('accepted')
    await revokeSession(runtime().db, session.id, plus(11))
    expect(await code(validateSession(runtime().db, token, plus(12), runtime()))).toBe('unauthorized')
  })

  it('inside a transaction the entry goes when it commits, not before (a read meanwhile would refill it)', async () => {
    const { user, token } = await signedIn()
    const other = await createSession(runtime().db, user, N, runtime())
    expect(await code(validateSession(runtime().db, token, plus(10), runtime()))).toBe('accepted')
    await runtime().db.tx(async (tx) => {
      await revokeUserSessions(tx, user.id, other.session.id, plus(11))
      expect(sessionCache.find(token)).toBeDefined()
    })
    expect(sessionCache.find(token)).toBeUndefined()
    expect(await code(validateSession(runtime().db, token, plus(12), runtime()))).toBe('unauthorized')
    expect(await code(validateSession(runtime().db, other.token, plus(12), runtime()))).toBe('accepted')
  })

  it("a sign-in drops the user's entries, so their login times are read again", async () => {
    const { user, token } = await signedIn()
    expect(await code(validateSession(runtime().db, token, plus(10), runtime()))).toBe('accepted')
    expect(sessionCache.find(token)).toBeDefined()
    await createSession(runtime().db, user, plus(20), runtime())
    expect(sessionCache.find(token)).toBeUndefined()
    await runtime().db.none('UPDATE users SET last_login_time = $2 WHERE id = $1', [user.id, plus(20)])
    const again = await validateSession(runtime().db, token, plus(21), runtime())
    expect(again.user.lastLoginTime).toEqual(plus(20))
  })
})

describe("the dashboard's list of live sessions through the cache (no listener: only local drops)", () => {
  const N = new Date('2001-01-01T00:00:00.000Z')
  const plus = (seconds: number) => new Date(N.getTime() + seconds * 1000)
  const TTL = 3600
  beforeAll(() => sessionCache.switchOn(100))
  afterAll(() => sessionCache.switchOff())
  const ids = (sessions: readonly { id: string }[]) => sessions.map((session) => session.id)

  it('is read once per user while cached, dropped by a session write here, and always cut at the clock given', async () => {
    const user = await createUser(runtime().db, uniqueUsername('l'), `$2b$10$${'x'.repeat(53)}`, N)
    const first = await createSession(runtime().db, user, N, runtime())
    const later = await createSession(runtime().db, user, plus(1800), runtime())
    await validateSession(runtime().db, first.token, plus(1800), runtime())
    expect(ids(await listLiveSessions(runtime().db, user.id, plus(1800), TTL))).toEqual(
      [later, first].map((s) => s.session.id),
    )
    // while nothing in it changed or expired, the cached list itself: the same object (lib/http/json-once.ts)
    const again = await listLiveSessions(runtime().db, user.id, plus(1801), TTL)
    expect(await listLiveSessions(runtime().db, user.id, plus(1801), TTL)).toBe(again)
    // a write no process hears (no listener, not through lib/auth): the cached list still answers…
    await runtime().db.none('UPDATE sessions SET revoked_at = $2 WHERE id = $1', [later.session.id, plus(1801)])
    expect(await listLiveSessions(runtime().db, user.id, plus(1802), TTL)).toHaveLength(2)
    // …cut at each request's clock: the first session's hour is over
    const cut = await listLiveSessions(runtime().db, user.id, plus(3600), TTL)
    expect(ids(cut)).toEqual([later.session.id])
    expect(cut, 'a list cut by the clock is a new object').not.toBe(again)
    // a clock before the read's is not served from it (its rows were cut at the later time): read
    // from the database, which has the revocation
    expect(ids(await listLiveSessions(runtime().db, user.id, plus(1000), TTL))).toEqual([first.session.id])
    // a session write here drops it: read again, the revocation shows
    await revokeSession(runtime().db, first.session.id, plus(1803))
    expect(sessionCache.findList(user.id)).toBeUndefined()
    await validateSession(runtime().db, later.token, plus(1803), runtime()).catch(() => undefined)
    expect(await listLiveSessions(runtime().db, user.id, plus(1804), TTL)).toEqual([])
  })
})

describe('the listener decides whether the cache is on', () => {
  const started = (change: (config: Config) => Partial<Config> = () => ({})) => {
    const cache = new SessionCache<CachedSession>()
    const config = { ...runtime().config, ...change(runtime().config) }
    return { cache, revocations: listenForRevocations({ ...runtime(), config }, cache) }
  }
  // the server case below goes on in a few hundred milliseconds
  const until = async (holds: () => boolean, limitMs = 5_000) => {
    for (const started = Date.now(); !holds() && Date.now() - started < limitMs; ) {
      await new Promise((resolve) => setTimeout(resolve, 10))
    }
    return holds()
  }

  it.each([
    ['on Lambda (frozen between invocations, it would hear nothing)', () => ({ platform: 'lambda' as const })],
    ['with SESSION_CACHE_ENTRIES=0', (config: Config) => ({ session: { ...config.session, cacheEntries: 0 } })],
  ])('never goes on %s', async (_, change) => {
    const { cache, revocations } = started(change)
    expect(await until(() => cache.on, 1_000)).toBe(false)
    await revocations.stop()
  })

  it('goes on once its connection LISTENs, hears the trigger, and goes off when stopped', async () => {
    const { cache, revocations } = started()
    expect(await until(() => cache.on)).toBe(true)
    const user = await createUser(runtime().db, uniqueUsername('l'), `$2b$10$${'x'.repeat(53)}`, new Date())
    cache.store(cache.startFill(), 'heard', {
      user,
      session: { id: 'heard', userId: user.id },
    } as never)
    await runtime().db.none('UPDATE users SET last_login_time = now() WHERE id = $1', [user.id])
    expect(await until(() => cache.find('heard') === undefined)).toBe(true)
    await revocations.stop()
    expect(cache.on).toBe(false)
  })

  it('hears a change of a TOTP key like one of the account: the cached "has a second factor" is dropped', async () => {
    const { cache, revocations } = started()
    expect(await until(() => cache.on)).toBe(true)
    const user = await createUser(runtime().db, uniqueUsername('t'), `$2b$10$${'x'.repeat(53)}`, new Date())
    const fill = (id: string) => cache.store(cache.startFill(), id, { user, session: { id, userId: user.id } } as never)
    fill('before-key')
    // written by another process: only the trigger's NOTIFY can tell this one
    await runtime().db.none(
      `INSERT INTO totp_factors (user_id, secret, created_at, confirmed_at) VALUES ($1, $2, now(), now())`,
      [user.id, 'A'.repeat(32)],
    )
    expect(await until(() => cache.find('before-key') === undefined)).toBe(true)
    fill('before-removal')
    await runtime().db.none('DELETE FROM totp_factors WHERE user_id = $1', [user.id])
    expect(await until(() => cache.find('before-removal') === undefined)).toBe(true)
    await revocations.stop()
  })
})
