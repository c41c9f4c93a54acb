// POST /password: change the signed-in user's password. Every other session of the user is
// revoked; the one that asked stays.
import { defineRoute, route } from '#lib/http/route.ts'
import { containsUsername, passwordChangeInput } from '#lib/auth/validation.ts'
import { updatePasswordHash } from '#lib/auth/users.ts'
import { hashPassword } from '#lib/auth/password.ts'
import { requireCurrentPassword } from '#lib/http/current-password.ts'
import { revokeUserSessions } from '#lib/auth/sessions.ts'
import { noticeCookie, seeOther } from '#lib/http/pages.ts'
import { invalidFields } from '#lib/problem.ts'

export const spec = defineRoute({
  keys: ['POST /password'],
  summary: "Change the signed-in user's password; the user's other sessions end",
  description:
    'A wrong `current_password` is a failed sign-in for the throttle. `new_password` follows the registration ' +
    'rules and must differ from the current one.',
  tag: 'session',
  auth: 'required',
  answers: 'page',
  page: 'dashboard',
  input: ({ passwordMinLength }) => passwordChangeInput(passwordMinLength),
  responses: {
    204: { description: 'Changed.' },
    303: {
      description: 'Form: changed, or no session; to the dashboard (or `/`).',
      headers: ['Location', 'Set-Cookie'],
    },
  },
  problems: ['rate_limited', 'internal_error', 'service_unavailable'],
})

export const handler = route(spec, async (event, ctx) => {
  const { db, hashing, now } = ctx
  const { auth, input } = event
  if (containsUsername(input.new_password, auth.user.username)) {
    throw invalidFields([{ field: 'new_password', message: 'New password must not contain the username.' }])
  }

  // a wrong current password is a guess at it, like a failed sign-in, and counted with them
  const user = await requireCurrentPassword(event, ctx, auth.user.id, input.current_password, 'password')
  if (input.new_password === input.current_password) {
    throw invalidFields([{ field: 'new_password', message: 'The new password must differ from the current one.' }])
  }
  const passwordHash = await hashPassword(hashing, input.new_password)
  await db.tx(async (tx) => {
    await updatePasswordHash(tx, user.id, passwordHash)
    await revokeUserSessions(tx, user.id, auth.session.id, now)
  })
  event.log.info({ event: 'password_changed', userId: user.id }, 'password changed')

  if (event.wantsHtml)
    return seeOther(`/dashboard/${encodeURIComponent(user.username)}`, [noticeCookie('password_changed', event.secure)])
  return { statusCode: 204 }
})
