// Who may create an account over HTTP (REGISTRATION). The admin CLI is not bound by it.
//   open    anyone who reaches the service
//   first   only while no account exists: the owner claims the gateway, then registration closes
//   closed  nobody; accounts come from `gateway-auth users create`
// "first" is decided inside the transaction that inserts, under an advisory lock, so two
// registrations racing for an empty gateway cannot both become its owner.
import type { RegistrationPolicy } from '../platform/config.ts'
import type { Queryable } from '../platform/database.ts'
import { Problem } from '../problem.ts'
import { createUser, type User } from './users.ts'

// pg_advisory_xact_lock key of "the first account"; any constant unused elsewhere will do
const FIRST_ACCOUNT_LOCK = 0x67612d66 // 'ga-f'

/** True while at least one account exists. */
export async function hasAnyUser(db: Queryable): Promise<boolean> {
  const { exists } = await db.one<{ exists: boolean }>('SELECT EXISTS (SELECT 1 FROM users) AS "exists"')
  return exists
}

/** Whether a visitor may register now: the register link and page follow this. */
export async function isRegistrationOpen(db: Queryable, policy: RegistrationPolicy): Promise<boolean> {
  if (policy === 'first') return !(await hasAnyUser(db))
  return policy === 'open'
}

/** 403 forbidden, saying why and what to do instead. */
export function registrationClosed(policy: RegistrationPolicy): Problem {
  const detail =
    policy === 'first'
      ? 'Registration is closed: this gateway already has its owner. Ask them for an account.'
      : 'Registration is closed on this gateway. Its administrator creates accounts (gateway-auth users create).'
  return new Problem('forbidden', { detail })
}

/** Throws forbidden unless a visitor may register now. */
export async function requireRegistrationOpen(db: Queryable, policy: RegistrationPolicy): Promise<void> {
  if (!(await isRegistrationOpen(db, policy))) throw registrationClosed(policy)
}

/** Creates the account as the policy allows; under "first" only if it is the very first one. */
export function registerUser(
  db: Queryable,
  policy: RegistrationPolicy,
  username: string,
  passwordHash: string,
  now: Date,
): Promise<User> {
  if (policy === 'open') return createUser(db, username, passwordHash, now)
  return db.tx(async (tx) => {
    // the lock serialises first registrations; the loser finds the winner's row when it gets it
    await tx.one('SELECT pg_advisory_xact_lock($1)', [FIRST_ACCOUNT_LOCK])
    if (policy === 'closed' || (await hasAnyUser(tx))) throw registrationClosed(policy)
    return createUser(tx, username, passwordHash, now)
  })
}
