// JSON bodies: one serializer, and the public shape of a user (never the hash), as a schema that
// both types the serializer and documents it (lib/http/openapi.ts).
import * as z from 'zod'
import type { RouteResult } from './event.ts'
import type { User } from '../auth/users.ts'
import { USERNAME_PATTERN } from '../auth/validation.ts'

export function jsonResult(statusCode: number, body: unknown): RouteResult {
  return jsonBodyResult(statusCode, JSON.stringify(body))
}

/** A JSON answer whose body is already serialised (lib/http/json-once.ts). */
export function jsonBodyResult(statusCode: number, body: string): RouteResult {
  return { statusCode, headers: { 'content-type': 'application/json' }, body }
}

export const Timestamp = z.iso.datetime()

export const UserJson = z.object({
  id: z.string().regex(/^[1-9][0-9]*$/),
  username: z.string().regex(USERNAME_PATTERN).meta({ description: 'Unique in any letter case; shown as registered.' }),
  created_at: Timestamp,
  last_login_time: Timestamp.nullable().meta({ description: 'The last successful sign-in; null until the first.' }),
})

/** The user as clients see it: id, username as registered, and times in ISO 8601. */
export function userJson(user: Omit<User, 'passwordHash'>): z.output<typeof UserJson> {
  return {
    id: user.id,
    username: user.username,
    created_at: user.createdAt.toISOString(),
    last_login_time: user.lastLoginTime ? user.lastLoginTime.toISOString() : null,
  }
}
