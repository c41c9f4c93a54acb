// Asking for the current password again before a change that weakens or takes over the account
// (a new password, removing a passkey). A wrong one is a guess at it: counted by the throttle like a
// failed sign-in, logged (`password_change_failed`, `passkey_remove_failed`), and answered as a
// field error on `field`.
import type { AuthenticatedEvent } from './event.ts'
import type { HandlerContext } from './request-context.ts'
import { findUserById, type User } from '../auth/users.ts'
import { verifyPassword } from '../auth/password.ts'
import { invalidFields, Problem } from '../problem.ts'

export interface Confirmation {
  readonly field: string
  readonly password: string
  /** What the password is asked for: names the log event of a wrong one. */
  readonly purpose: 'password_change' | 'passkey_removal'
  /** The refusal's detail, for a page that shows it apart from the form (the error page). */
  readonly detail?: string
}

/** The signed-in user, once `password` is proven to be theirs. */
export async function confirmPassword(
  event: AuthenticatedEvent,
  { db, hashing, throttle }: Pick<HandlerContext, 'db' | 'hashing' | 'throttle'>,
  { field, password, purpose, detail }: Confirmation,
): Promise<User> {
  const user = await findUserById(db, event.auth.user.id)
  if (!user) throw new Problem('unauthorized')
  const attempt = await throttle.startLoginAttempt(user.username)
  // a comparison the pool refused (503, 429) checked nothing, so it counts nothing
  if (!(await verifyPassword(hashing, password, user.passwordHash).catch(attempt.withdraw))) {
    const lockoutSeconds = await attempt.failed()
    event.log.warn(
      {
        event: purpose === 'passkey_removal' ? 'passkey_remove_failed' : 'password_change_failed',
        userId: user.id,
        lockoutSeconds,
      },
      'wrong current password',
    )
    throw invalidFields([{ field, message: 'The current password is wrong.' }], detail)
  }
  await attempt.succeeded()
  return user
}
