// POST /security/totp/remove: turn the authenticator app off, with its recovery codes. Takes the
// current password (not a code: the phone may be what was lost); the account's other sessions end.
import { defineRoute, route } from '#lib/http/route.ts'
import { SECURITY_ROUTE } from '#lib/http/security-page.ts'
import { currentPasswordInput } from '#lib/auth/validation.ts'
import { deleteTotp } from '#lib/auth/totp.ts'
import { deleteRecoveryCodes } from '#lib/auth/recovery-codes.ts'
import { revokeUserSessions } from '#lib/auth/sessions.ts'
import { requireCurrentPassword } from '#lib/http/current-password.ts'
import { noticeCookie, seeOther } from '#lib/http/pages.ts'

export const spec = defineRoute({
  keys: ['POST /security/totp/remove'],
  summary: 'Turn the authenticator app off (its recovery codes go too); other sessions end',
  description: 'Takes the current password (a wrong one counts as a failed sign-in). Removing nothing is no error.',
  ...SECURITY_ROUTE,
  input: currentPasswordInput,
  responses: {
    204: { description: 'Off.' },
    303: { description: 'Form: off; to `/security`.', headers: ['Location', 'Set-Cookie'] },
  },
  problems: ['rate_limited', 'internal_error', 'service_unavailable'],
})

export const handler = route(spec, async (event, ctx) => {
  const { db, now } = ctx
  const { auth, input } = event
  await requireCurrentPassword(event, ctx, auth.user.id, input.current_password, 'second factor')
  const removed = await db.tx(async (tx) => {
    const removed = await deleteTotp(tx, auth.user.id)
    await deleteRecoveryCodes(tx, auth.user.id)
    if (removed) await revokeUserSessions(tx, auth.user.id, auth.session.id, now)
    return removed
  })
  if (removed) event.log.info({ event: 'second_factor_removed', userId: auth.user.id, factor: 'totp' }, 'TOTP removed')
  if (event.wantsHtml) return seeOther('/security', [noticeCookie('totp_removed', event.secure)])
  return { statusCode: 204 }
})
