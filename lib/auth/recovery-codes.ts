// Recovery codes: the way in when the phone is lost or the gateway's clock is wrong. Ten codes of
// 120 random bits, shown once, each usable once; a new set voids the old one. They are stored as
// SHA-256 digests: at 112 bits or more a plain digest is enough (ASVS 6.5.2) and a guess is
// hopeless, so a slow hash would add bcrypt's cost to every second step for nothing; an unkeyed
// digest also survives an export to another gateway (ADR 019).
import { createHash, randomBytes } from 'node:crypto'
import type { Queryable } from '../platform/database.ts'

export const RECOVERY_CODE_COUNT = 10
// Crockford's base32: no i, l, o or u, so a code read aloud or typed from paper is not misread
const ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz'

/** A fresh code: 24 characters (120 bits) in groups of four, e.g. `7kq2-m9xa-…`. */
function newRecoveryCode(): string {
  const bytes = randomBytes(15)
  let bits = 0n
  for (const byte of bytes) bits = (bits << 8n) | BigInt(byte)
  let text = ''
  for (let i = 23; i >= 0; i--) text += ALPHABET[Number((bits >> BigInt(i * 5)) & 31n)]
  return text.match(/.{4}/g)!.join('-')
}

/** What is compared: lower case without separators, with the letters Crockford reads as digits. */
const normalize = (code: string) => code.toLowerCase().replace(/[\s-]/g, '').replace(/[il]/g, '1').replace(/o/g, '0')

export const recoveryCodeHash = (code: string) => createHash('sha256').update(normalize(code)).digest()

/** Replaces the account's codes with a fresh set and returns it (the only time they are seen). */
export async function replaceRecoveryCodes(db: Queryable, userId: string, now: Date): Promise<string[]> {
  const codes = Array.from({ length: RECOVERY_CODE_COUNT }, newRecoveryCode)
  await db.none('DELETE FROM recovery_codes WHERE user_id = $1', [userId])
  await db.none(
    `INSERT INTO recovery_codes (user_id, code_hash, created_at)
     SELECT $1, code_hash, $3 FROM unnest($2::bytea[]) AS code_hash`,
    [userId, codes.map(recoveryCodeHash), now],
  )
  return codes
}

/** Uses `code` once: the number of codes left after it, or null when it is not an unused code of the account. */
export async function useRecoveryCode(db: Queryable, userId: string, code: string, now: Date): Promise<number | null> {
  const row = await db.oneOrNone<{ left: number }>(
    `WITH used AS (
       UPDATE recovery_codes SET used_at = $3 WHERE user_id = $1 AND code_hash = $2 AND used_at IS NULL RETURNING 1)
     SELECT (SELECT count(*)::int FROM recovery_codes WHERE user_id = $1 AND used_at IS NULL) - 1 AS left
      WHERE EXISTS (SELECT 1 FROM used)`,
    [userId, recoveryCodeHash(code), now],
  )
  return row ? row.left : null
}

/** How many unused codes the account has. */
export async function countRecoveryCodesLeft(db: Queryable, userId: string): Promise<number> {
  const row = await db.one<{ left: number }>(
    'SELECT count(*)::int AS left FROM recovery_codes WHERE user_id = $1 AND used_at IS NULL',
    [userId],
  )
  return row.left
}

/** Removes all of the account's codes (with its last second factor). */
export async function deleteRecoveryCodes(db: Queryable, userId: string): Promise<void> {
  await db.none('DELETE FROM recovery_codes WHERE user_id = $1', [userId])
}
