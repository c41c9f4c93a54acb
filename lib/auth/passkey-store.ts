// The passkeys table: each account's registered WebAuthn credentials (public material only).
import type { Queryable } from '../platform/database.ts'

export interface Passkey {
  readonly id: string
  readonly userId: string
  /** base64url, as the authenticator names it. */
  readonly credentialId: string
  readonly publicKey: Uint8Array
  readonly counter: number
  readonly transports: string[]
  /** The name it works under (its RP ID). */
  readonly rpId: string
  readonly name: string
  readonly createdAt: Date
  readonly lastUsedAt: Date | null
}

export const PASSKEY_NAME_MAX = 64

const COLUMNS = `id::text, user_id::text AS "userId", credential_id AS "credentialId", public_key AS "publicKey",
  counter::float8 AS counter, transports, rp_id AS "rpId", name, created_at AS "createdAt",
  last_used_at AS "lastUsedAt"`

/** The account's passkeys, oldest first. */
export function listPasskeys(db: Queryable, userId: string): Promise<Passkey[]> {
  return db.any(`SELECT ${COLUMNS} FROM passkeys WHERE user_id = $1 ORDER BY created_at, id`, [userId])
}

/** The account's passkey by its credential id, or null. */
export function findPasskey(db: Queryable, userId: string, credentialId: string): Promise<Passkey | null> {
  return db.oneOrNone(`SELECT ${COLUMNS} FROM passkeys WHERE user_id = $1 AND credential_id = $2`, [
    userId,
    credentialId,
  ])
}

export type NewPasskey = Omit<Passkey, 'id' | 'createdAt' | 'lastUsedAt'>

/** The most passkeys one account holds: enough for every device a person has, and a bound on rows. */
export const MAX_PASSKEYS_PER_ACCOUNT = 10

/** How many passkeys the account holds, at every RP ID. */
export async function countPasskeys(db: Queryable, userId: string): Promise<number> {
  const row = await db.one('SELECT count(*)::int AS n FROM passkeys WHERE user_id = $1', [userId])
  return row.n as number
}

/** Stores a verified credential; null when that credential is registered already (to any account). */
export function addPasskey(db: Queryable, passkey: NewPasskey, now: Date): Promise<Passkey | null> {
  return db.oneOrNone(
    `INSERT INTO passkeys (user_id, credential_id, public_key, counter, transports, rp_id, name, created_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (credential_id) DO NOTHING RETURNING ${COLUMNS}`,
    [
      passkey.userId,
      passkey.credentialId,
      Buffer.from(passkey.publicKey),
      passkey.counter,
      passkey.transports,
      passkey.rpId,
      passkey.name,
      now,
    ],
  )
}

/** A successful sign-in with it: the authenticator's new counter, and when. */
export async function recordPasskeyUse(db: Queryable, id: string, counter: number, now: Date): Promise<void> {
  await db.none('UPDATE passkeys SET counter = $2, last_used_at = $3 WHERE id = $1', [id, counter, now])
}

/** Renames one of the account's passkeys; false when it has no such passkey. */
export async function renamePasskey(db: Queryable, userId: string, id: string, name: string): Promise<boolean> {
  const result = await db.result('UPDATE passkeys SET name = $3 WHERE user_id = $1 AND id = $2', [userId, id, name])
  return result.rowCount === 1
}

/** Removes one of the account's passkeys; its name, or null when it has no such passkey. */
export async function removePasskey(db: Queryable, userId: string, id: string): Promise<string | null> {
  const row = await db.oneOrNone<{ name: string }>(
    'DELETE FROM passkeys WHERE user_id = $1 AND id = $2 RETURNING name',
    [userId, id],
  )
  return row?.name ?? null
}

/** Removes every passkey of the account (the admin CLI's reset); how many there were. */
export async function removeAllPasskeys(db: Queryable, userId: string): Promise<number> {
  return (await db.result('DELETE FROM passkeys WHERE user_id = $1', [userId])).rowCount
}
