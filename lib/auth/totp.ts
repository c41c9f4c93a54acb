// TOTP (RFC 6238) with otpauth: 6 digits, 30-second steps, SHA-1 (what every authenticator app
// reads from a QR code). A code is accepted one step either side of the server's clock, and only
// once: the step of the last accepted code is kept, and a code of that step or an earlier one is
// refused (RFC 6238 §5.2). The key waits, unconfirmed, until the first code proves the app has it.
// otpauth (~3.9 MB of RSS) is imported at the first TOTP use, not with the routes (issue 19), as
// qrcode and @simplewebauthn/server are: every function here that needs it is async.
import type { Queryable } from '../platform/database.ts'

const PERIOD_SECONDS = 30
/** Steps either side of the server's clock a code may be from (a phone a little fast or slow). */
const SKEW_STEPS = 1
const CODE = /^\d{6}$/

type Otpauth = typeof import('otpauth')

// an account without TOTP is checked against a stand-in key, so the work done is the same (ADR 019)
let loading: Promise<Otpauth & { standInSecret: string }> | undefined

/** otpauth, imported once, and the stand-in key made with it. */
function loadOtpauth() {
  loading ??= import('otpauth').then((loaded) => {
    // an ES module with named exports, under Node as in an esbuild bundle; `default` only as a fallback
    const otpauth = (loaded.TOTP ? loaded : (loaded as unknown as { default: Otpauth }).default) as Otpauth
    return { ...otpauth, standInSecret: new otpauth.Secret({ size: 20 }).base32 }
  })
  // a failed import is tried again next time
  loading.catch(() => (loading = undefined))
  return loading
}

export interface TotpFactor {
  readonly secret: string
  readonly confirmed: boolean
  readonly lastUsedStep: number | null
}

const totp = async (secret: string | undefined, label = 'account', issuer = 'gateway-auth') => {
  const { TOTP, standInSecret } = await loadOtpauth()
  return new TOTP({
    issuer,
    label,
    secret: secret ?? standInSecret,
    algorithm: 'SHA1',
    digits: 6,
    period: PERIOD_SECONDS,
  })
}

/** The otpauth:// URI an authenticator app reads from the QR code. */
export const totpUri = async (secret: string, label: string, issuer: string) =>
  (await totp(secret, label, issuer)).toString()

/** True for what looks like a TOTP code (six digits, spaces allowed) rather than a recovery code. */
export const looksLikeTotpCode = (code: string) => CODE.test(code.replace(/\s/g, ''))

/** The time step `code` belongs to at `now` (±1 step), or null; `secret` undefined: checked against a stand-in. */
export async function matchingStep(secret: string | undefined, code: string, now: Date): Promise<number | null> {
  const token = code.replace(/\s/g, '')
  const delta = (await totp(secret)).validate({ token, timestamp: now.getTime(), window: SKEW_STEPS })
  if (delta === null || secret === undefined) return null
  return Math.floor(now.getTime() / 1000 / PERIOD_SECONDS) + delta
}

export function findTotp(db: Queryable, userId: string): Promise<TotpFactor | null> {
  return db.oneOrNone(
    `SELECT secret, confirmed_at IS NOT NULL AS confirmed, last_used_step::float8 AS "lastUsedStep"
       FROM totp_factors WHERE user_id = $1`,
    [userId],
  )
}

/** A new key waiting for its first code (replacing one that waited); null when a confirmed key exists. */
export async function startTotpEnrolment(db: Queryable, userId: string, now: Date): Promise<string | null> {
  const { Secret } = await loadOtpauth()
  const secret = new Secret({ size: 20 }).base32
  const row = await db.oneOrNone<{ secret: string }>(
    `INSERT INTO totp_factors (user_id, secret, created_at) VALUES ($1, $2, $3)
     ON CONFLICT (user_id) DO UPDATE SET secret = EXCLUDED.secret, created_at = EXCLUDED.created_at,
       last_used_step = NULL
       WHERE totp_factors.confirmed_at IS NULL
     RETURNING secret`,
    [userId, secret, now],
  )
  return row?.secret ?? null
}

/**
 * Records `step` as used, once: false when a code of this step or a later one was accepted before
 * (a replay). `confirming`: the key waiting for its first code becomes the account's factor.
 */
export async function useTotpStep(
  db: Queryable,
  userId: string,
  step: number,
  now: Date,
  { confirming = false } = {},
): Promise<boolean> {
  const result = await db.result(
    `UPDATE totp_factors SET last_used_step = $2,
       confirmed_at = CASE WHEN $4 THEN $3::timestamptz ELSE confirmed_at END
     WHERE user_id = $1 AND (confirmed_at IS NULL) = $4 AND (last_used_step IS NULL OR last_used_step < $2)`,
    [userId, step, now, confirming],
  )
  return result.rowCount === 1
}

/** Removes the account's TOTP key (confirmed or waiting); false when it had none. */
export async function deleteTotp(db: Queryable, userId: string): Promise<boolean> {
  return (await db.result('DELETE FROM totp_factors WHERE user_id = $1', [userId])).rowCount === 1
}
