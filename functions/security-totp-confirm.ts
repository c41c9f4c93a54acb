// POST /security/totp/confirm: turn the waiting key on with its first code (proof the app has it)
// and the current password. Ten recovery codes are made and shown this once; the account's other
// sessions end (a second factor changed).
import { defineRoute, route } from '#lib/http/route.ts'
import { totpConfirmInput } from '#lib/auth/validation.ts'
import { findTotp, matchingStep, useTotpStep } from '#lib/auth/totp.ts'
import { replaceRecoveryCodes } from '#lib/auth/recovery-codes.ts'
import { revokeUserSessions } from '#lib/auth/sessions.ts'
import { requireCurrentPassword } from '#lib/http/current-password.ts'
import { freshCodesAnswer, RecoveryCodesJson, SECURITY_ROUTE } from '#lib/http/security-page.ts'
import { invalidFields, Problem } from '#lib/problem.ts'

export const spec = defineRoute({
  keys: ['POST /security/totp/confirm'],
  summary: 'Turn the authenticator app on with its first code; answers ten recovery codes, once',
  description: 'Takes the current password too (a wrong one counts as a failed sign-in). Other sessions end.',
  ...SECURITY_ROUTE,
  input: totpConfirmInput,
  responses: { 200: { description: 'On; the recovery codes.', json: RecoveryCodesJson, html: true } },
  problems: ['second_factor_exists', 'rate_limited', 'internal_error', 'service_unavailable'],
})

const wrongCode = () =>
  invalidFields([{ field: 'code', message: 'That code is not the app’s current one; check the key and try again.' }])

export const handler = route(spec, async (event, ctx) => {
  const { db, now } = ctx
  const { auth, input } = event
  await requireCurrentPassword(event, ctx, auth.user.id, input.current_password, 'second factor')
  const factor = await findTotp(db, auth.user.id)
  if (factor?.confirmed) throw new Problem('second_factor_exists', { detail: 'The authenticator app is on already.' })
  if (!factor) throw invalidFields([{ field: 'code', message: 'Set up the authenticator app first.' }])
  const step = await matchingStep(factor.secret, input.code, now)
  if (step === null) throw wrongCode()

  const codes = await db.tx(async (tx) => {
    if (!(await useTotpStep(tx, auth.user.id, step, now, { confirming: true }))) return null
    await revokeUserSessions(tx, auth.user.id, auth.session.id, now)
    return replaceRecoveryCodes(tx, auth.user.id, now)
  })
  if (!codes) throw wrongCode()
  event.log.info({ event: 'second_factor_enrolled', userId: auth.user.id, factor: 'totp' }, 'TOTP turned on')
  return freshCodesAnswer(event, ctx, codes)
})
