// POST /security/passkeys/<id>/remove: remove one of the signed-in user's passkeys. It weakens the
// account, so it asks for the current password (a wrong one counts like a failed sign-in); the
// account's other sessions end and it is logged (docs/decisions/020-passkeys.md).
import { defineRoute, route } from '#lib/http/route.ts'
import { noticeCookie, seeOther } from '#lib/http/pages.ts'
import { passkeyRemovalInput } from '#lib/auth/passkey-input.ts'
import { removePasskey } from '#lib/auth/passkey-store.ts'
import { revokeUserSessions } from '#lib/auth/sessions.ts'
import { requireCurrentPassword } from '#lib/http/current-password.ts'
import { PASSKEY_HANDLE } from '#lib/http/passkey-view.ts'
import { Problem } from '#lib/problem.ts'

export const spec = defineRoute({
  keys: ['POST /security/passkeys/{passkey}/remove'],
  summary: "Remove one of the signed-in user's passkeys (current password required); other sessions end",
  description: 'A wrong `current_password` is a failed sign-in for the throttle.',
  tag: 'session',
  auth: 'required',
  answers: 'page',
  page: 'security',
  params: { passkey: { description: 'The passkey’s `id` from `GET /security/passkeys`.', schema: { type: 'string' } } },
  input: passkeyRemovalInput,
  responses: {
    204: { description: 'Removed.' },
    303: { description: 'Form: removed; to `/security`, which says so.', headers: ['Location', 'Set-Cookie'] },
  },
  problems: ['not_found', 'rate_limited', 'internal_error', 'service_unavailable'],
})

export const handler = route(spec, async (event, ctx) => {
  const { db, now } = ctx
  const { auth, input } = event
  const id = event.pathParameters?.passkey ?? ''
  const missing = () => new Problem('not_found', { detail: 'You have no such passkey; it may have been removed.' })
  if (!PASSKEY_HANDLE.test(id)) throw missing()
  // a wrong one is a guess at it, counted with failed sign-ins
  await requireCurrentPassword(event, ctx, auth.user.id, input.current_password, 'second factor')
  await db.tx(async (tx) => {
    if ((await removePasskey(tx, auth.user.id, id)) === null) throw missing()
    await revokeUserSessions(tx, auth.user.id, auth.session.id, now)
  })
  event.log.info({ event: 'passkey_removed', userId: auth.user.id, passkeyId: id }, 'passkey removed')
  if (event.wantsHtml) return seeOther('/security', [noticeCookie('passkey_removed', event.secure)])
  return { statusCode: 204 }
})
