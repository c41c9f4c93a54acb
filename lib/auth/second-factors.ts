// The second factors an account has, what the policy (REQUIRE_SECOND_FACTOR) asks of it, and the
// second step's check of a code. Kinds of factor: a TOTP key with its recovery codes; passkeys
// join the `second_factors` view (migrations/1770000000000_second-factors.sql) and this list.
import type { SecondFactorPolicy } from '../platform/config.ts'
import type { Queryable } from '../platform/database.ts'
import { removeAllPasskeys } from './passkey-store.ts'
import { deleteRecoveryCodes, useRecoveryCode } from './recovery-codes.ts'
import { deleteTotp, findTotp, looksLikeTotpCode, matchingStep, useTotpStep } from './totp.ts'

/** How a session signed in (sessions.sign_in_method). */
export type SignInMethod = 'password' | 'totp' | 'recovery' | 'passkey'
/** A kind of second factor an account can have. */
export type SecondFactorMethod = 'totp' | 'passkey'

/** The kinds of second factor the account has (none: the password alone signs it in). */
export async function secondFactorsOf(db: Queryable, userId: string): Promise<SecondFactorMethod[]> {
  const rows = await db.any<{ method: SecondFactorMethod }>(
    'SELECT DISTINCT method FROM second_factors WHERE user_id = $1 ORDER BY method',
    [userId],
  )
  return rows.map((row) => row.method)
}

/** Every account's kinds of second factor, by user id (accounts without one are absent). */
export async function secondFactorsByUser(db: Queryable): Promise<Map<string, SecondFactorMethod[]>> {
  const rows = await db.any<{ userId: string; methods: SecondFactorMethod[] }>(
    `SELECT user_id::text AS "userId", array_agg(DISTINCT method ORDER BY method) AS methods
     FROM second_factors GROUP BY user_id`,
  )
  return new Map(rows.map((row) => [row.userId, row.methods]))
}

/** Whether the policy requires this account to set up a second factor before anything else. */
export function mustEnrol(
  user: { readonly groups: readonly string[]; readonly hasSecondFactor: boolean },
  policy: SecondFactorPolicy,
): boolean {
  if (user.hasSecondFactor || policy === 'off') return false
  return policy === 'everyone' || user.groups.includes('admins')
}

/** What a correct code proved: a TOTP code, or a recovery code with how many are left. */
export type CodeCheck = { readonly method: 'totp' } | { readonly method: 'recovery'; readonly left: number }

/**
 * Checks a code from the second step and uses it up (in the caller's transaction): six digits are
 * a TOTP code (a confirmed key, ±1 step, a step not used before), anything else a recovery code.
 * An account without a TOTP key is checked against a stand-in key, so the work is the same.
 */
export async function checkSecondFactorCode(
  tx: Queryable,
  userId: string,
  code: string,
  now: Date,
): Promise<CodeCheck | null> {
  if (!looksLikeTotpCode(code)) {
    const left = await useRecoveryCode(tx, userId, code, now)
    return left === null ? null : { method: 'recovery', left }
  }
  const factor = await findTotp(tx, userId)
  const step = await matchingStep(factor?.confirmed ? factor.secret : undefined, code, now)
  if (step === null || !(await useTotpStep(tx, userId, step, now))) return null
  return { method: 'totp' }
}

/** Removes every second factor of the account (the admin CLI's last resort); returns the kinds it had. */
export async function removeSecondFactors(tx: Queryable, userId: string): Promise<SecondFactorMethod[]> {
  const had = await secondFactorsOf(tx, userId)
  await deleteTotp(tx, userId)
  await deleteRecoveryCodes(tx, userId)
  await removeAllPasskeys(tx, userId)
  return had
}
