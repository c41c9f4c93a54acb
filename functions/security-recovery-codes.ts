// POST /security/recovery-codes: a new set of ten recovery codes, shown this once; the old set
// stops working. Takes the current password; only while the authenticator app is on.
import { defineRoute, route } from '#lib/http/route.ts'
import { currentPasswordInput } from '#lib/auth/validation.ts'
import { findTotp } from '#lib/auth/totp.ts'
import { replaceRecoveryCodes } from '#lib/auth/recovery-codes.ts'
import { requireCurrentPassword } from '#lib/http/current-password.ts'
import { freshCodesAnswer, RecoveryCodesJson, SECURITY_ROUTE } from '#lib/http/security-page.ts'
import { Problem } from '#lib/problem.ts'

export const spec = defineRoute({
  keys: ['POST /security/recovery-codes'],
  summary: 'Make new recovery codes (the old ones stop working); answers them, once',
  description: 'Takes the current password (a wrong one counts as a failed sign-in); only with the app on.',
  ...SECURITY_ROUTE,
  input: currentPasswordInput,
  responses: { 200: { description: 'The new codes.', json: RecoveryCodesJson, html: true } },
  problems: ['forbidden', 'rate_limited', 'internal_error', 'service_unavailable'],
})

export const handler = route(spec, async (event, ctx) => {
  const { db, now } = ctx
  const { auth, input } = event
  await requireCurrentPassword(event, ctx, auth.user.id, input.current_password, 'second factor')
  if (!(await findTotp(db, auth.user.id))?.confirmed) {
    throw new Problem('forbidden', { detail: 'Recovery codes come with the authenticator app: turn it on first.' })
  }
  const codes = await db.tx((tx) => replaceRecoveryCodes(tx, auth.user.id, now))
  event.log.info({ event: 'recovery_codes_replaced', userId: auth.user.id }, 'recovery codes replaced')
  return freshCodesAnswer(event, ctx, codes)
})
