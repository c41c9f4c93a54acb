// GET /security: the signed-in account's second factors: the authenticator app (off, waiting for
// its first code, on), the recovery codes left, and whether the policy requires a second factor.
import { defineRoute, route } from '#lib/http/route.ts'
import { takeNotice, withCookies } from '#lib/http/pages.ts'
import { jsonResult } from '#lib/http/json.ts'
import { SecurityJson, securityPage, securityState, SECURITY_ROUTE } from '#lib/http/security-page.ts'

export const spec = defineRoute({
  keys: ['GET /security'],
  summary: "The account's second factors: the authenticator app (TOTP) and its recovery codes",
  description:
    'While a key waits for its first code the answer carries it (`totp_key`, `totp_uri`; the page shows a QR ' +
    'code). Served to a session whose account must still set up a second factor (REQUIRE_SECOND_FACTOR).',
  ...SECURITY_ROUTE,
  responses: { 200: { description: 'The second factors.', json: SecurityJson, html: true } },
  problems: ['internal_error', 'service_unavailable'],
})

export const handler = route(spec, async (event, { config, db }) => {
  const state = await securityState(db, config, event.auth, event.headers.host ?? event.requestContext.domainName)
  if (!event.wantsHtml) return jsonResult(200, state)
  const { notice, cookies } = takeNotice(event)
  return withCookies(await securityPage(event.auth, state, { notice }), cookies)
})
