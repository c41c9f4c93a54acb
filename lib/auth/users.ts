// Users: the account row. SQL lives here; every function takes the db or a transaction first.
import type { Queryable } from '../platform/database.ts'
import { usernameKey } from './username.ts'

export interface User {
  readonly id: string
  readonly username: string
  readonly passwordHash: string
  readonly createdAt: Date
  readonly lastLoginTime: Date | null
  /** The sign-in before the latest one. */
  readonly previousLoginTime: Date | null
  /** What the access rules check (lib/platform/access-rules.ts); the first account is in `admins`. */
  readonly groups: readonly string[]
}

const COLUMNS = `id::text AS id, username, password_hash AS "passwordHash", created_at AS "createdAt",
  last_login_time AS "lastLoginTime", previous_login_time AS "previousLoginTime", groups`

/**
 * Case-insensitive lookup: Alice and alice are one account. The name is matched by usernameKey,
 * the form the throttle counts; a name that cannot exist matches nothing without a query.
 * Stored names are ASCII (registration's rule), so lower(username) is their ASCII lower case.
 */
export async function findUserByUsername(db: Queryable, username: string): Promise<User | null> {
  const key = usernameKey(username)
  if (key === null) return null
  return db.oneOrNone(`SELECT ${COLUMNS} FROM users WHERE lower(username) = $1`, [key])
}

export function findUserById(db: Queryable, id: string): Promise<User | null> {
  return db.oneOrNone(`SELECT ${COLUMNS} FROM users WHERE id = $1`, [id])
}

/** Inserts the account; a taken name (any case) surfaces as the unique violation 23505. */
export function createUser(db: Queryable, username: string, passwordHash: string, now: Date): Promise<User> {
  return db.one(`INSERT INTO users (username, password_hash, created_at) VALUES ($1, $2, $3) RETURNING ${COLUMNS}`, [
    username,
    passwordHash,
    now,
  ])
}

/** Records the login time on the user, keeping the one before; the session's lifetime is measured from it. */
export function recordLogin(db: Queryable, userId: string, now: Date): Promise<User> {
  // the right-hand side reads the row as it was: the old last_login_time becomes the previous one
  return db.one(
    `UPDATE users SET previous_login_time = last_login_time, last_login_time = $2 WHERE id = $1 RETURNING ${COLUMNS}`,
    [userId, now],
  )
}

export async function updatePasswordHash(db: Queryable, userId: string, passwordHash: string): Promise<void> {
  await db.none('UPDATE users SET password_hash = $2 WHERE id = $1', [userId, passwordHash])
}

/** PostgreSQL's unique_violation: the name was taken between our check and our insert. */
export const isUniqueViolation = (error: unknown) => (error as { code?: string } | null)?.code === '23505'

/** Every account, by name (the admin CLI's list and export). */
export function listUsers(db: Queryable): Promise<User[]> {
  return db.any(`SELECT ${COLUMNS} FROM users ORDER BY lower(username), id`)
}

/** Deletes the account; its sessions go with it (ON DELETE CASCADE). False when there was none. */
export async function deleteUser(db: Queryable, userId: string): Promise<boolean> {
  return (await db.result('DELETE FROM users WHERE id = $1', [userId])).rowCount === 1
}
