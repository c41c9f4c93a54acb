// The sign-ins a user sees on the dashboard: this one, and the one before it, so that a sign-in
// they do not remember stands out (a security signal). users.last_login_time is the newest
// sign-in of any session; users.previous_login_time the one before that (recorded together).
import type { Session, SessionUser } from './sessions.ts'

export interface SignIns {
  /** When this session signed in: the recorded login time, or the session's start once a newer one replaced it. */
  readonly current: Date
  /** The sign-in before this one; null for the first sign-in of the account. */
  readonly previous: Date | null
  /** A sign-in after this one (from another session), when there was one. */
  readonly newer: Date | null
}

/** This session's sign-in and its neighbours, from the user's two recorded login times. */
export function signInsOf(
  user: Pick<SessionUser, 'lastLoginTime' | 'previousLoginTime'>,
  session: Pick<Session, 'createdAt'>,
): SignIns {
  const current = session.createdAt
  const last = user.lastLoginTime
  // a session starts at its login time cut to whole seconds (the token's iat), the user row keeps milliseconds
  const isLatest = !last || Math.floor(last.getTime() / 1000) * 1000 <= current.getTime()
  if (isLatest) return { current: last ?? current, previous: user.previousLoginTime, newer: null }
  // someone signed in after this session: the sign-in before this one is no longer recorded
  return { current, previous: null, newer: last }
}
