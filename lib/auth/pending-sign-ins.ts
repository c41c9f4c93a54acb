// Pending sign-ins: the state between a correct password and the second factor. The client gets a
// random handle (256 bits; only its SHA-256 is stored) that names the account it proved the
// password of, so the second step takes no username: it cannot be pointed at another account, and
// without a handle there is nothing to send a code to, so the password cannot be skipped. A handle
// lives PENDING_SIGN_IN_SECONDS, is used once (consumed in the transaction that starts the session)
// and only from the client address it was given to. Any passkey step finishes the same way.
import { createHash, randomBytes } from 'node:crypto'
import type { Queryable } from '../platform/database.ts'
import { Problem } from '../problem.ts'
import { clientKey } from './throttle.ts'

/** Five minutes: time to find the phone, not long enough to matter if the handle leaks. */
export const PENDING_SIGN_IN_SECONDS = 300
const HANDLE = /^[A-Za-z0-9_-]{43}$/

export interface PendingSignIn {
  readonly userId: string
  readonly username: string
  /** Where the browser goes once signed in (accepted at the password step). */
  readonly returnTo: string | undefined
}

const digest = (value: string) => createHash('sha256').update(value).digest()
const clientHash = (clientIp: string) => digest(clientKey(clientIp))

const expired = () =>
  new Problem('pending_sign_in_expired', { detail: 'This sign-in has expired or was used; sign in again.' })

/** Starts a pending sign-in for `userId` from `clientIp`; returns the handle the client must send back. */
export async function startPendingSignIn(
  db: Queryable,
  pending: { userId: string; clientIp: string; returnTo: string | undefined; now: Date },
): Promise<{ handle: string; expiresIn: number }> {
  const handle = randomBytes(32).toString('base64url')
  await db.none(
    `INSERT INTO pending_sign_ins (handle_hash, user_id, client_hash, created_at, expires_at, return_to)
     VALUES ($1, $2, $3, $4, $5, $6)`,
    [
      digest(handle),
      pending.userId,
      clientHash(pending.clientIp),
      pending.now,
      new Date(pending.now.getTime() + PENDING_SIGN_IN_SECONDS * 1000),
      pending.returnTo ?? null,
    ],
  )
  return { handle, expiresIn: PENDING_SIGN_IN_SECONDS }
}

const PENDING_COLUMNS = `p.user_id::text AS "userId", u.username, p.return_to AS "returnTo"`

/** The live pending sign-in `handle` names for this client; throws pending_sign_in_expired. */
export async function findPendingSignIn(
  db: Queryable,
  handle: string | undefined,
  clientIp: string,
  now: Date,
): Promise<PendingSignIn> {
  if (!handle || !HANDLE.test(handle)) throw expired()
  const row = await db.oneOrNone<PendingSignIn & { returnTo: string | null }>(
    `SELECT ${PENDING_COLUMNS} FROM pending_sign_ins p JOIN users u ON u.id = p.user_id
      WHERE p.handle_hash = $1 AND p.client_hash = $2 AND p.consumed_at IS NULL AND p.expires_at > $3`,
    [digest(handle), clientHash(clientIp), now],
  )
  if (!row) throw expired()
  return { ...row, returnTo: row.returnTo ?? undefined }
}

/** Uses the pending sign-in up (in the transaction that starts the session); throws when it was used meanwhile. */
export async function consumePendingSignIn(
  tx: Queryable,
  handle: string,
  clientIp: string,
  now: Date,
): Promise<PendingSignIn> {
  const row = await tx.oneOrNone<PendingSignIn & { returnTo: string | null }>(
    `UPDATE pending_sign_ins p SET consumed_at = $3 FROM users u
      WHERE u.id = p.user_id AND p.handle_hash = $1 AND p.client_hash = $2 AND p.consumed_at IS NULL
        AND p.expires_at > $3
      RETURNING ${PENDING_COLUMNS}`,
    [digest(handle), clientHash(clientIp), now],
  )
  if (!row) throw expired()
  return { ...row, returnTo: row.returnTo ?? undefined }
}

/** Rows past their expiry can never be used; the periodic sweep removes them. */
export async function deleteExpiredPendingSignIns(db: Queryable, now: Date): Promise<number> {
  return (await db.result('DELETE FROM pending_sign_ins WHERE expires_at < $1', [now])).rowCount
}
