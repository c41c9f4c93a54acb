// The second factors as an export carries them (cli/accounts-file.ts, format version 3): the TOTP
// key in the clear (a sign-in needs it) and the recovery codes as their SHA-256 digests. An export
// is therefore secret material: with it, the password hashes are the only thing between a reader
// and the accounts. A key still waiting for its first code is not carried (no factor yet).
// Passkeys, when they exist, go beside `totp` and `recoveryCodes` here and in the file.
import type { Queryable } from '../platform/database.ts'

export interface CarriedSecondFactors {
  readonly totp: { readonly secret: string; readonly confirmedAt: Date; readonly lastUsedStep: number | null } | null
  readonly recoveryCodes: readonly { readonly sha256: string; readonly createdAt: Date; readonly usedAt: Date | null }[]
}

/** user id → its second factors, for every account that has any. */
export async function secondFactorsForExport(db: Queryable): Promise<Map<string, CarriedSecondFactors>> {
  const [keys, codes] = await Promise.all([
    db.any<{ userId: string; secret: string; confirmedAt: Date; lastUsedStep: number | null }>(
      `SELECT user_id::text AS "userId", secret, confirmed_at AS "confirmedAt", last_used_step::float8 AS "lastUsedStep"
         FROM totp_factors WHERE confirmed_at IS NOT NULL`,
    ),
    db.any<{ userId: string; sha256: string; createdAt: Date; usedAt: Date | null }>(
      `SELECT user_id::text AS "userId", encode(code_hash, 'hex') AS sha256, created_at AS "createdAt",
         used_at AS "usedAt" FROM recovery_codes ORDER BY user_id, created_at, code_hash`,
    ),
  ])
  const factors = new Map<
    string,
    { totp: CarriedSecondFactors['totp']; recoveryCodes: CarriedSecondFactors['recoveryCodes'][number][] }
  >()
  const of = (userId: string) => {
    let entry = factors.get(userId)
    if (!entry) factors.set(userId, (entry = { totp: null, recoveryCodes: [] }))
    return entry
  }
  for (const { userId, ...totp } of keys) of(userId).totp = totp
  for (const { userId, ...code } of codes) of(userId).recoveryCodes.push(code)
  return factors
}

/** Replaces the second factors of these accounts with the carried ones (an import, in its transaction). */
export async function restoreSecondFactors(
  tx: Queryable,
  accounts: readonly { readonly userId: string; readonly factors: CarriedSecondFactors }[],
): Promise<void> {
  if (!accounts.length) return
  const ids = accounts.map((account) => account.userId)
  await tx.none('DELETE FROM totp_factors WHERE user_id = ANY($1::bigint[])', [ids])
  await tx.none('DELETE FROM recovery_codes WHERE user_id = ANY($1::bigint[])', [ids])
  const keys = accounts.flatMap(({ userId, factors }) => (factors.totp ? [{ userId, ...factors.totp }] : []))
  if (keys.length) {
    await tx.none(
      `INSERT INTO totp_factors (user_id, secret, created_at, confirmed_at, last_used_step)
       SELECT u, s, c, c, l FROM unnest($1::bigint[], $2::text[], $3::timestamptz[], $4::bigint[]) AS k(u, s, c, l)`,
      [
        keys.map((k) => k.userId),
        keys.map((k) => k.secret),
        keys.map((k) => k.confirmedAt),
        keys.map((k) => k.lastUsedStep),
      ],
    )
  }
  const codes = accounts.flatMap(({ userId, factors }) => factors.recoveryCodes.map((code) => ({ userId, ...code })))
  if (codes.length) {
    await tx.none(
      `INSERT INTO recovery_codes (user_id, code_hash, created_at, used_at)
       SELECT u, decode(h, 'hex'), c, d FROM unnest($1::bigint[], $2::text[], $3::timestamptz[], $4::timestamptz[])
         AS r(u, h, c, d) ON CONFLICT DO NOTHING`,
      [
        codes.map((c) => c.userId),
        codes.map((c) => c.sha256),
        codes.map((c) => c.createdAt),
        codes.map((c) => c.usedAt),
      ],
    )
  }
}
