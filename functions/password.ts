// POST /password: change the signed-in user's password. Every other session of the user is
// revoked; the one that asked stays.
import { route, type HandlerContext, type AuthenticatedEvent } from '#lib/http/route.ts'
import { parseInput, passwordChangeInput } from '#lib/auth/validation.ts'
import { findUserById, updatePasswordHash } from '#lib/auth/users.ts'
import { hashPassword, verifyPassword } from '#lib/auth/password.ts'
import { revokeUserSessions } from '#lib/auth/sessions.ts'
import { noticeCookie, seeOther } from '#lib/http/pages.ts'
import { invalidFields, Problem } from '#lib/problem.ts'

async function changePassword(event: AuthenticatedEvent, { config, db, hashPool, now, throttle }: HandlerContext) {
  const auth = event.auth
  const input = parseInput(passwordChangeInput(config.password.minLength, auth.user.username), event.body)

  const user = await findUserById(db, auth.user.id)
  if (!user) throw new Problem('unauthorized')
  // a wrong current password is a guess at it, like a failed sign-in, and counted with them
  const attempt = await throttle.startLoginAttempt(user.username, event.clientIp)
  const hashing = { pool: hashPool, cost: config.password.bcryptCost, client: event.clientIp, log: event.log }
  // a comparison the pool refused (503, 429) checked nothing, so it counts nothing
  if (!(await verifyPassword(hashing, input.current_password, user.passwordHash).catch(attempt.withdraw))) {
    const lockoutSeconds = await attempt.failed()
    event.log.warn({ event: 'password_change_failed', userId: user.id, lockoutSeconds }, 'wrong current password')
    throw invalidFields([{ field: 'current_password', message: 'The current password is wrong.' }])
  }
  await attempt.succeeded()
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
}

export const handler = route(changePassword, { auth: 'required', page: 'dashboard' })
