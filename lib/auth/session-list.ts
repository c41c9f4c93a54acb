// The user's sessions as the dashboard shows them: the live ones, newest first, each named by an
// opaque handle (never the id its token carries), and ending one of them by that handle. The session
// store itself (start, validate, revoke) is lib/auth/sessions.ts; only the dashboard and
// POST /sessions/end read the list, so no other request pays for it.
import { hash } from 'node:crypto'
import type { Queryable } from '../platform/database.ts'
import {
  isSessionExpired,
  type LiveSessionsRead,
  revokeSession,
  SESSION_COLUMNS,
  sessionCache,
  sessionEndsAt,
  type Session,
} from './sessions.ts'

/** A session as its owner sees it in a list: an opaque handle, never the id its token carries. */
export interface SessionSummary {
  readonly handle: string
  readonly createdAt: Date
  readonly endsAt: Date
  readonly current: boolean
  /** How it signed in: 'password', 'totp', 'recovery' or 'passkey' (the second factor after the password). */
  readonly signInMethod: Session['signInMethod']
}

/** 128 bits of the id's SHA-256: names a session in a list without revealing its token's jti. */
export const sessionHandle = (id: string) => hash('sha256', id, 'base64url').slice(0, 22)

// a cached list (ADR 014) hands the same rows to every dashboard until it changes: each row's handle
// is hashed once, not on every request that shows it
const handles = new WeakMap<Session, string>()
function handleOf(session: Session): string {
  let handle = handles.get(session)
  if (handle === undefined) handles.set(session, (handle = sessionHandle(session.id)))
  return handle
}

/**
 * The user's live sessions at `now`, newest first (at most SESSIONS_PER_USER). Served from the
 * session cache while the user has a cached session (ADR 014): the list changes only by writes to
 * the user's sessions, which drop it as they drop the user's entries, and by time, which is applied
 * here to every answer. A list read at a later clock than `now` is not used (its rows were filtered
 * by that later time).
 */
export async function listLiveSessions(
  db: Queryable,
  userId: string,
  now: Date,
  ttlSeconds: number,
): Promise<readonly Session[]> {
  const cached = sessionCache.findList(userId)
  const read = cached && cached.readAt.getTime() <= now.getTime() ? cached : await readLiveSessions(db, userId, now)
  const live = read.sessions.filter((row) => !isSessionExpired(row, now, ttlSeconds))
  // the cached list itself while none of it has expired: the same list is the same object (lib/http/json-once.ts)
  return live.length === read.sessions.length ? read.sessions : live
}

async function readLiveSessions(db: Queryable, userId: string, now: Date): Promise<LiveSessionsRead> {
  const ticket = sessionCache.startFill()
  const sessions: Session[] = await db.any(
    `SELECT ${SESSION_COLUMNS} FROM sessions WHERE user_id = $1 AND revoked_at IS NULL AND expires_at > $2 ORDER BY ` +
      `created_at DESC, id`,
    [userId, now],
  )
  const read = { readAt: now, sessions }
  sessionCache.storeList(ticket, userId, read)
  return read
}

/** The sessions of `liveSessions` still live at `now`, newest first, the one asking marked as current. */
export function summarizeSessions(
  liveSessions: readonly Session[],
  currentId: string,
  now: Date,
  ttlSeconds: number,
): SessionSummary[] {
  return liveSessions
    .filter((session) => !isSessionExpired(session, now, ttlSeconds))
    .map((session) => ({
      handle: handleOf(session),
      createdAt: session.createdAt,
      endsAt: sessionEndsAt(session, ttlSeconds),
      current: session.id === currentId,
      signInMethod: session.signInMethod,
    }))
}

/** Ends the user's live session named by `handle`; false when the user has no such session. */
export async function revokeSessionByHandle(
  db: Queryable,
  userId: string,
  handle: string,
  now: Date,
  ttlSeconds: number,
): Promise<boolean> {
  const target = (await listLiveSessions(db, userId, now, ttlSeconds)).find((session) => handleOf(session) === handle)
  if (target) await revokeSession(db, target.id, now)
  return target !== undefined
}
