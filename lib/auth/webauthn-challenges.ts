// The challenges of WebAuthn ceremonies: random, short-lived, single-use, and bound to whoever asked
// (a session registering a passkey, or a pending sign-in proving one). Kept in the database, since
// the options and the answer may reach different processes or Lambda instances.
import type { Queryable } from '../platform/database.ts'

/** How long a ceremony may take: the browser's timeout for the authenticator, and the challenge's life. */
export const CEREMONY_TIMEOUT_MS = 5 * 60 * 1000

export type CeremonyPurpose = 'register' | 'authenticate'

export interface Challenge {
  readonly challenge: string
  readonly purpose: CeremonyPurpose
  /** 'session:<id>' or 'pending:<id>'. */
  readonly boundTo: string
  readonly userId: string
  readonly rpId: string
  readonly origin: string
  readonly expiresAt: Date
}

/** Keeps a new challenge; it replaces the holder's open one of the same purpose, and expired ones go. */
export async function saveChallenge(db: Queryable, challenge: Omit<Challenge, 'expiresAt'>, now: Date) {
  const expiresAt = new Date(now.getTime() + CEREMONY_TIMEOUT_MS)
  await db.tx(async (tx) => {
    await tx.none('DELETE FROM webauthn_challenges WHERE expires_at <= $1', [now])
    await tx.none(
      `INSERT INTO webauthn_challenges (challenge, purpose, bound_to, user_id, rp_id, origin, expires_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7)
       ON CONFLICT (bound_to, purpose) DO UPDATE SET challenge = EXCLUDED.challenge, user_id = EXCLUDED.user_id,
         rp_id = EXCLUDED.rp_id, origin = EXCLUDED.origin, expires_at = EXCLUDED.expires_at`,
      [
        challenge.challenge,
        challenge.purpose,
        challenge.boundTo,
        challenge.userId,
        challenge.rpId,
        challenge.origin,
        expiresAt,
      ],
    )
  })
  return expiresAt
}

/**
 * Takes the holder's open challenge of `purpose`: it is deleted whatever follows, so an answer can
 * be checked against it once. Null when there is none, or it expired.
 */
export async function takeChallenge(
  db: Queryable,
  boundTo: string,
  purpose: CeremonyPurpose,
  now: Date,
): Promise<Challenge | null> {
  const row: Challenge | null = await db.oneOrNone(
    `DELETE FROM webauthn_challenges WHERE bound_to = $1 AND purpose = $2
     RETURNING challenge, purpose, bound_to AS "boundTo", user_id::text AS "userId", rp_id AS "rpId", origin,
       expires_at AS "expiresAt"`,
    [boundTo, purpose],
  )
  return row && row.expiresAt > now ? row : null
}
