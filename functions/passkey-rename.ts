// POST /security/passkeys/<id>/name: rename one of the signed-in user's passkeys. A name is a label
// for its owner, so renaming asks for nothing more than the session.
import { defineRoute, route } from '#lib/http/route.ts'
import { noticeCookie, seeOther } from '#lib/http/pages.ts'
import { passkeyRenameInput } from '#lib/auth/passkey-input.ts'
import { renamePasskey } from '#lib/auth/passkey-store.ts'
import { PASSKEY_HANDLE } from '#lib/http/passkey-view.ts'
import { Problem } from '#lib/problem.ts'

export const spec = defineRoute({
  keys: ['POST /security/passkeys/{passkey}/name'],
  summary: "Rename one of the signed-in user's passkeys",
  tag: 'session',
  auth: 'required',
  answers: 'page',
  page: 'security',
  params: { passkey: { description: 'The passkey’s `id` from `GET /security/passkeys`.', schema: { type: 'string' } } },
  input: passkeyRenameInput,
  responses: {
    204: { description: 'Renamed.' },
    303: { description: 'Form: renamed; to `/security`, which says so.', headers: ['Location', 'Set-Cookie'] },
  },
  problems: ['not_found', 'internal_error', 'service_unavailable'],
})

export const handler = route(spec, async (event, { db }) => {
  const id = event.pathParameters?.passkey ?? ''
  const renamed = PASSKEY_HANDLE.test(id) && (await renamePasskey(db, event.auth.user.id, id, event.input.name))
  if (!renamed) throw new Problem('not_found', { detail: 'You have no such passkey; it may have been removed.' })
  if (event.wantsHtml) return seeOther('/security', [noticeCookie('passkey_renamed', event.secure)])
  return { statusCode: 204 }
})
