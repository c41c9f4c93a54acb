// POST /security/totp: start setting up an authenticator app. A new key waits for its first code
// (POST /security/totp/confirm) and is no factor until then; starting again replaces a waiting key.
import { defineRoute, route } from '#lib/http/route.ts'
import { startTotpEnrolment } from '#lib/auth/totp.ts'
import { seeOther } from '#lib/http/pages.ts'
import { jsonResult } from '#lib/http/json.ts'
import { SecurityJson, securityState, SECURITY_ROUTE } from '#lib/http/security-page.ts'
import { Problem } from '#lib/problem.ts'

export const spec = defineRoute({
  keys: ['POST /security/totp'],
  summary: 'Start setting up an authenticator app (TOTP): a new key, waiting for its first code',
  ...SECURITY_ROUTE,
  responses: {
    201: { description: 'The key, waiting for its first code (`totp_key`, `totp_uri`).', json: SecurityJson },
    303: { description: 'Form: to `/security`, which shows the key and its QR code.', headers: ['Location'] },
  },
  problems: ['second_factor_exists', 'internal_error', 'service_unavailable'],
})

export const handler = route(spec, async (event, { config, db, now }) => {
  const secret = await startTotpEnrolment(db, event.auth.user.id, now)
  if (!secret) throw new Problem('second_factor_exists', { detail: 'Remove the authenticator app you have first.' })
  event.log.info(
    { event: 'second_factor_enrolment_started', userId: event.auth.user.id, factor: 'totp' },
    'TOTP key made',
  )
  if (event.wantsHtml) return seeOther('/security')
  const host = event.headers.host ?? event.requestContext.domainName
  return jsonResult(201, await securityState(db, config, event.auth, host))
})
