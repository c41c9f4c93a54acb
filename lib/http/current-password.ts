// Re-authentication before a change to how the account signs in (its password, its second
// factors): the current password, checked like a sign-in and counted with failed sign-ins, so a
// stolen session alone cannot lock its owner out or take the account over.
import { verifyPassword } from '../auth/password.ts'
import { findUserById, type User } from '../auth/users.ts'
import { invalidFields, Problem } from '../problem.ts'
import type { RouteEvent } from './event.ts'
import type { HandlerContext } from './request-context.ts'

/** The account, once `password` proved to be its current one; else 400 on `current_password` (or 429). */
export async function requireCurrentPassword(
  event: Pick<RouteEvent, 'log'>,
  { db, hashing, throttle }: Pick<HandlerContext, 'db' | 'hashing' | 'throttle'>,
  userId: string,
  password: string,
  changing: 'password' | 'second factor',
): Promise<User> {
  const user = await findUserById(db, userId)
  if (!user) throw new Problem('unauthorized')
  const attempt = await throttle.startLoginAttempt(user.username)
  // a comparison the pool refused (503, 429) checked nothing, so it counts nothing
  if (!(await verifyPassword(hashing, password, user.passwordHash).catch(attempt.withdraw))) {
    const lockoutSeconds = await attempt.failed()
    event.log.warn(
      {
        event: changing === 'password' ? 'password_change_failed' : 'second_factor_change_failed',
        userId: user.id,
        lockoutSeconds,
      },
      'wrong current password',
    )
    throw invalidFields([{ field: 'current_password', message: 'The current password is wrong.' }])
  }
  await attempt.succeeded()
  return user
}
