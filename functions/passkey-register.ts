// POST /security/passkeys: the second half of adding a passkey. The authenticator's answer must
// match this session's open challenge (POST /security/passkeys/options), at the same RP ID and
// origin; then the passkey is stored, the account's other sessions end, and it is logged.
import * as z from 'zod'
import { defineRoute, route } from '#lib/http/route.ts'
import { jsonResult } from '#lib/http/json.ts'
import { noticeCookie, seeOther } from '#lib/http/pages.ts'
import { passkeyRegistrationInput } from '#lib/auth/passkey-input.ts'
import { ensureRoomForPasskey, PasskeyRejected, verifyRegistration } from '#lib/auth/passkeys.ts'
import { addPasskey } from '#lib/auth/passkey-store.ts'
import { revokeUserSessions } from '#lib/auth/sessions.ts'
import { sessionHolder } from '#lib/http/passkey-guard.ts'
import { PasskeyJson, passkeyJson } from '#lib/http/passkey-view.ts'

const CreatedJson = z.object({ passkey: PasskeyJson })

export const spec = defineRoute({
  keys: ['POST /security/passkeys'],
  summary: "Add a passkey: the authenticator's answer to this session's challenge; other sessions end",
  description:
    '`response` is `PublicKeyCredential.toJSON()` of `navigator.credentials.create()` with the options of ' +
    '`POST /security/passkeys/options`, as an object or as JSON text. The challenge is used up either way.',
  tag: 'session',
  auth: 'required',
  // adding a passkey is setting up a second factor: open to an account the policy sends to enrol
  beforeEnrolment: true,
  answers: 'page',
  page: 'security',
  input: passkeyRegistrationInput,
  responses: {
    201: { description: 'Added.', json: CreatedJson },
    303: { description: 'Form: added; to `/security`, which says so.', headers: ['Location', 'Set-Cookie'] },
  },
  problems: ['passkey_rejected', 'internal_error', 'service_unavailable'],
})

export const handler = route(spec, async (event, { db, now }) => {
  const { auth, input } = event
  const credential = await verifyRegistration(db, sessionHolder(event), input.response, now).catch((error) => {
    if (error instanceof PasskeyRejected) {
      event.log.warn({ event: 'passkey_rejected', step: 'register', userId: auth.user.id, reason: error.reason })
    }
    throw error
  })
  const passkey = await db.tx(async (tx) => {
    // asked again: another tab may have added one since the options were given
    await ensureRoomForPasskey(tx, auth.user.id)
    const added = await addPasskey(tx, { ...credential, name: input.name }, now)
    // the same credential twice (another account's, or a race): refused, nothing changed
    if (!added) throw new PasskeyRejected('credential registered already')
    await revokeUserSessions(tx, auth.user.id, auth.session.id, now)
    return added
  })
  event.log.info({ event: 'passkey_added', userId: auth.user.id, passkeyId: passkey.id }, 'passkey added')
  if (event.wantsHtml) return seeOther('/security', [noticeCookie('passkey_added', event.secure)])
  return jsonResult(201, { passkey: passkeyJson(passkey) } satisfies z.output<typeof CreatedJson>)
})
