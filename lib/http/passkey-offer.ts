// Whether the second step's page offers the account's passkeys: only where the page is a secure
// context at a name (lib/http/passkey-context.ts) and one of them was added at that name.
import type { RouteEvent } from './event.ts'
import { passkeyContextOf, type NoPasskeyReason } from './passkey-context.ts'
import { listPasskeys } from '../auth/passkey-store.ts'
import type { Queryable } from '../platform/database.ts'

/** 'offered'; or why not: the page (NoPasskeyReason), or 'elsewhere' (added at other names); none: no passkeys. */
export type PasskeyOffer = 'offered' | NoPasskeyReason | 'elsewhere' | undefined

export async function passkeyOffer(
  db: Queryable,
  userId: string,
  event: Pick<RouteEvent, 'secure' | 'headers'>,
): Promise<PasskeyOffer> {
  const passkeys = await listPasskeys(db, userId)
  if (!passkeys.length) return undefined
  const here = passkeyContextOf({ secure: event.secure, host: event.headers.host })
  if (!here.available) return here.reason
  return passkeys.some((passkey) => passkey.rpId === here.rpId) ? 'offered' : 'elsewhere'
}
