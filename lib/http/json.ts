// JSON bodies: one serializer, and the public shape of a user (never the hash).
import type { RouteResult } from './event.ts'
import type { User } from '../auth/users.ts'

export function jsonResult(statusCode: number, body: unknown): RouteResult {
  return { statusCode, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }
}

/** The user as clients see it: id, username as registered, and times in ISO 8601. */
export function userJson(user: Omit<User, 'passwordHash'>) {
  return {
    id: user.id,
    username: user.username,
    created_at: user.createdAt.toISOString(),
    last_login_time: user.lastLoginTime ? user.lastLoginTime.toISOString() : null,
  }
}
