// Sessions: a signed JWT for the client plus a row for the server (docs/decisions/002).
// The model: a session is expired when its token's exp has passed, or when more than the TTL has
// passed since the login that started it (so lowering SESSION_TTL_SECONDS shortens live sessions).
// It is revoked when its row says so (logout, password change); a revoked token is refused even
// though its exp has not passed. Validated sessions are cached in memory while every process hears
// of every change (lib/auth/session-cache.ts); expiry is still checked here on every request.
import { randomBytes } from 'node:crypto'
import type { Queryable } from '../platform/database.ts'
import type { Runtime } from '../platform/runtime.ts'
import { Problem } from '../problem.ts'
import { forgetAfterCommit, SessionCache } from './session-cache.ts'
import { signToken, verifyToken } from './tokens.ts'
import type { User } from './users.ts'
import type { SignInMethod } from './second-factors.ts'

export interface Session {
  readonly id: string
  readonly userId: string
  /** The login time that started this session. */
  readonly createdAt: Date
  readonly expiresAt: Date
  /** How it signed in: the password alone, or the password and a second factor. */
  readonly signInMethod: SignInMethod
}
export type SessionUser = Omit<User, 'passwordHash'> & {
  /** Whether the account has a second factor (REQUIRE_SECOND_FACTOR reads it on every request). */
  readonly hasSecondFactor: boolean
}

/** A validated session: who is asking, the session row, and the token that proved it. */
export interface Auth {
  readonly user: SessionUser
  readonly session: Session
  readonly token: string
}

/** Authentication minus the token: what the session cache keeps (off until the listener is up). */
export type CachedSession = Omit<Auth, 'token'>
/** A user's sessions that were live at `readAt` (lib/auth/session-list.ts), cached beside the user's entries. */
export interface LiveSessionsRead {
  readonly readAt: Date
  readonly sessions: readonly Session[]
}
export const sessionCache = new SessionCache<CachedSession, LiveSessionsRead>()

/** When the session ends: its token's exp, or TTL after its login, whichever comes first. */
export function sessionEndsAt(session: Pick<Session, 'createdAt' | 'expiresAt'>, ttlSeconds: number): Date {
  return new Date(Math.min(session.expiresAt.getTime(), session.createdAt.getTime() + ttlSeconds * 1000))
}

/** Pure rule: expired at `now` once its token's exp or TTL-since-login has been reached. */
export function isSessionExpired(
  session: Pick<Session, 'createdAt' | 'expiresAt'>,
  now: Date,
  ttlSeconds: number,
): boolean {
  return now.getTime() >= sessionEndsAt(session, ttlSeconds).getTime()
}

export const SESSION_COLUMNS = `sessions.id, sessions.user_id::text AS "userId", sessions.created_at AS "createdAt",
  sessions.expires_at AS "expiresAt", sessions.sign_in_method AS "signInMethod"`

/** A session row joined with its user; the user's columns are null when the account is gone. */
interface SessionWithUserRow extends Session {
  readonly revokedAt: Date | null
  readonly username: string | null
  readonly userCreatedAt: Date | null
  readonly lastLoginTime: Date | null
  readonly previousLoginTime: Date | null
  readonly groups: readonly string[] | null
  readonly hasSecondFactor: boolean
}

/** Starts a session at `now` (whole seconds, as the token carries them) and returns it with its token. */
export async function createSession(
  db: Queryable,
  user: Pick<User, 'id' | 'username'>,
  now: Date,
  runtime: Pick<Runtime, 'config' | 'jwtSecret'>,
  method: SignInMethod = 'password',
): Promise<{ session: Session; token: string }> {
  const iat = Math.floor(now.getTime() / 1000)
  const exp = iat + runtime.config.session.ttlSeconds
  await endOldestSessions(db, user.id, runtime.config.session.maxPerUser - 1, now)
  const session: Session = await db.one(
    `INSERT INTO sessions (id, user_id, created_at, expires_at, sign_in_method) VALUES ($1, $2, $3, $4, $5)
     RETURNING ${SESSION_COLUMNS}`,
    [randomBytes(32).toString('base64url'), user.id, new Date(iat * 1000), new Date(exp * 1000), method],
  )
  // a sign-in changes the user's cached login times, and the cap may end their oldest session
  forgetAfterCommit(sessionCache, db, [user.id])
  const token = signToken(
    { sub: user.id, preferred_username: user.username, jti: session.id, iat, exp },
    tokenSettings(runtime),
  )
  return { session, token }
}

/** The session a token stands for, with its user; throws unauthorized or session_expired. */
export async function validateSession(
  db: Queryable,
  token: string,
  now: Date,
  runtime: Pick<Runtime, 'config' | 'jwtSecret'>,
): Promise<Auth> {
  // a cached entry is keyed by its token, fully verified when it was stored: the same string is the
  // same signed token, so only the lifetime rule is left (every revocation drops the entry)
  const found = sessionCache.find(token) ?? (await readSession(db, token, now, runtime))
  if (isSessionExpired(found.session, now, runtime.config.session.ttlSeconds)) {
    throw new Problem('session_expired', { detail: 'Your session has expired; sign in again.' })
  }
  return { ...found, token }
}

/** Verifies the token, then reads its session with its user (and caches them); throws unauthorized. */
async function readSession(
  db: Queryable,
  token: string,
  now: Date,
  runtime: Pick<Runtime, 'config' | 'jwtSecret'>,
): Promise<CachedSession> {
  const claims = verifyToken(token, tokenSettings(runtime), now)
  const ticket = sessionCache.startFill()
  // one round trip: the session row and its user together (an authenticated request's only query;
  // the dashboard alone reads the user's other sessions, lib/auth/session-list.ts, never cached)
  const row: SessionWithUserRow | null = await db.oneOrNone(
    `SELECT ${SESSION_COLUMNS}, sessions.revoked_at AS "revokedAt", u.username, u.created_at AS "userCreatedAt",
       u.last_login_time AS "lastLoginTime", u.previous_login_time AS "previousLoginTime", u.groups,
       EXISTS (SELECT 1 FROM second_factors f WHERE f.user_id = sessions.user_id) AS "hasSecondFactor"
     FROM sessions LEFT JOIN users u ON u.id = sessions.user_id WHERE sessions.id = $1`,
    [claims.jti],
  )
  if (!row || row.revokedAt || row.userId !== claims.sub || row.username === null || row.userCreatedAt === null) {
    throw new Problem('unauthorized', { detail: 'This session has ended; sign in again.' })
  }
  const user: SessionUser = {
    id: row.userId,
    username: row.username,
    createdAt: row.userCreatedAt,
    lastLoginTime: row.lastLoginTime,
    previousLoginTime: row.previousLoginTime,
    groups: row.groups ?? [],
    hasSecondFactor: row.hasSecondFactor,
  }
  const { id, userId, createdAt, expiresAt, signInMethod } = row
  const session: Session = { id, userId, createdAt, expiresAt, signInMethod }
  const found = { user, session }
  sessionCache.store(ticket, token, found)
  return found
}

/**
 * Keeps the user's `keep` newest live sessions and ends the rest: a user holds at most
 * SESSIONS_PER_USER, the oldest ending when a new one starts. Run in the sign-in's transaction
 * after its UPDATE of the user's row, whose lock makes concurrent sign-ins take turns here.
 */
async function endOldestSessions(db: Queryable, userId: string, keep: number, now: Date): Promise<void> {
  await db.none(
    `UPDATE sessions SET revoked_at = $3 WHERE id IN (
       SELECT id FROM sessions WHERE user_id = $1 AND revoked_at IS NULL AND expires_at > $3
       ORDER BY started DESC OFFSET $2)`,
    [userId, keep, now],
  )
}

/** Ends one session (logout). Revoking twice is harmless. */
export async function revokeSession(db: Queryable, sessionId: string, now: Date): Promise<void> {
  const ended = await db.any<{ userId: string }>(
    'UPDATE sessions SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL RETURNING user_id::text AS "userId"',
    [sessionId, now],
  )
  forgetAfterCommit(
    sessionCache,
    db,
    ended.map((row) => row.userId),
  )
}

/** Ends every session of a user except `keepSessionId` (after a password change). */
export async function revokeUserSessions(
  db: Queryable,
  userId: string,
  keepSessionId: string,
  now: Date,
): Promise<void> {
  await db.none('UPDATE sessions SET revoked_at = $3 WHERE user_id = $1 AND id <> $2 AND revoked_at IS NULL', [
    userId,
    keepSessionId,
    now,
  ])
  forgetAfterCommit(sessionCache, db, [userId])
}

/** Ends every live session of a user (the admin CLI); returns how many there were. */
export async function revokeAllUserSessions(db: Queryable, userId: string, now: Date): Promise<number> {
  const result = await db.result(
    'UPDATE sessions SET revoked_at = $2 WHERE user_id = $1 AND revoked_at IS NULL AND expires_at > $2',
    [userId, now],
  )
  forgetAfterCommit(sessionCache, db, [userId])
  return result.rowCount
}

/** user id → number of sessions neither revoked nor past their token's exp (the admin CLI's list). */
export async function countLiveSessions(db: Queryable, now: Date): Promise<Map<string, number>> {
  const rows = await db.any<{ userId: string; count: number }>(
    `SELECT user_id::text AS "userId", count(*)::int AS count FROM sessions
      WHERE revoked_at IS NULL AND expires_at > $1 GROUP BY user_id`,
    [now],
  )
  return new Map(rows.map((row) => [row.userId, row.count]))
}

/** Rows past their expiry can never be accepted again; a periodic sweep keeps the table small. */
export async function deleteExpiredSessions(db: Queryable, now: Date): Promise<number> {
  const result = await db.result('DELETE FROM sessions WHERE expires_at < $1', [now])
  return result.rowCount
}

const tokenSettings = (runtime: Pick<Runtime, 'config' | 'jwtSecret'>) => ({
  secret: runtime.jwtSecret,
  issuer: runtime.config.jwt.issuer,
  audience: runtime.config.jwt.audience,
})
