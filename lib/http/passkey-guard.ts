// The guards the passkey routes share: a page where passkeys can work, and the holder of a
// ceremony: the signed-in session (adding a passkey), or the pending sign-in (the second step).
import { createHash } from 'node:crypto'
import type { AuthenticatedEvent, RouteEvent } from './event.ts'
import type { PendingSignIn } from '../auth/pending-sign-ins.ts'
import { passkeyContextOf } from './passkey-context.ts'
import type { CeremonyHolder, PasskeySite } from '../auth/passkeys.ts'
import { Problem } from '../problem.ts'

const WHY = {
  insecure: 'Passkeys need a secure page: open the gateway through its HTTPS front door, or at http://localhost.',
  address: 'Passkeys are bound to a name, not an address: open the gateway by its name (or localhost).',
} as const

/** The RP ID and origin of this request, or 403 forbidden where a browser would refuse passkeys. */
export function passkeySiteOf(event: RouteEvent): PasskeySite {
  const here = passkeyContextOf({ secure: event.secure, host: event.headers.host })
  if (!here.available) throw new Problem('forbidden', { detail: WHY[here.reason] })
  return { rpId: here.rpId, origin: here.origin }
}

/** The signed-in session as the holder of a registration ceremony. */
export const sessionHolder = ({ auth }: AuthenticatedEvent): CeremonyHolder => ({
  userId: auth.user.id,
  username: auth.user.username,
  boundTo: `session:${auth.session.id}`,
})

/**
 * The pending sign-in as the holder of the second step's ceremony, named by its handle's SHA-256
 * (the handle itself is a credential of the sign-in: it is not stored).
 */
export const pendingHolder = (pending: PendingSignIn, handle: string): CeremonyHolder => ({
  userId: pending.userId,
  username: pending.username,
  boundTo: `pending:${createHash('sha256').update(handle).digest('base64url')}`,
})
