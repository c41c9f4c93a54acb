// GET /security/passkeys: the signed-in user's passkeys, and the forms to add, rename and remove
// them. Where the page is no secure context (plain HTTP on a LAN address) it lists them and says why
// none can be added here (lib/http/passkey-context.ts).
import * as z from 'zod'
import { defineRoute, route } from '#lib/http/route.ts'
import { takeNotice, withCookies } from '#lib/http/pages.ts'
import { jsonResult } from '#lib/http/json.ts'
import { listPasskeys } from '#lib/auth/passkey-store.ts'
import { passkeyContextOf } from '#lib/http/passkey-context.ts'
import { PasskeyJson, passkeyJson, passkeysPage } from '#lib/http/passkey-view.ts'

const PasskeysJson = z.object({
  passkeys: z.array(PasskeyJson).meta({ description: 'Oldest first.' }),
  available_here: z.boolean().meta({ description: 'Whether a passkey can be added or used at this address.' }),
  rp_id: z.string().nullable().meta({ description: 'The RP ID of this address; null where passkeys cannot work.' }),
})

export const spec = defineRoute({
  keys: ['GET /security/passkeys'],
  summary: "The signed-in user's passkeys, with the forms to add, rename and remove them",
  tag: 'session',
  auth: 'required',
  // adding a passkey is setting up a second factor: open to an account the policy sends to enrol
  beforeEnrolment: true,
  answers: 'page',
  responses: { 200: { description: 'The passkeys.', json: PasskeysJson, html: true } },
  problems: ['internal_error', 'service_unavailable'],
})

export const handler = route(spec, async (event, { db }) => {
  const passkeys = await listPasskeys(db, event.auth.user.id)
  const here = passkeyContextOf({ secure: event.secure, host: event.headers.host })
  if (event.wantsHtml) {
    const { notice, cookies } = takeNotice(event)
    return withCookies(passkeysPage(event.auth, { passkeys: passkeys.map(passkeyJson), here, notice }), cookies)
  }
  const body: z.output<typeof PasskeysJson> = {
    passkeys: passkeys.map(passkeyJson),
    available_here: here.available,
    rp_id: here.available ? here.rpId : null,
  }
  return jsonResult(200, body)
})
