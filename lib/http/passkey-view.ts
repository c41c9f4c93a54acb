// The passkeys as their owner sees them: the settings section (templates/_passkeys.njk) and the
// JSON list. A passkey works only under the name it was registered at, so each says where.
import * as z from 'zod'
import type { Passkey } from '../auth/passkey-store.ts'
import { renderHtml } from './render.ts'
import { Timestamp } from './json.ts'
import type { PasskeyContext } from './passkey-context.ts'
import type { Auth } from './event.ts'

export const PasskeyJson = z.object({
  id: z
    .string()
    .regex(/^[1-9][0-9]*$/)
    .meta({ description: 'The handle of `/security/passkeys/{id}/…`.' }),
  name: z.string(),
  rp_id: z.string().meta({ description: 'The name (WebAuthn RP ID) the passkey works at.' }),
  created_at: Timestamp,
  last_used_at: Timestamp.nullable(),
})

export const passkeyJson = (passkey: Passkey): z.output<typeof PasskeyJson> => ({
  id: passkey.id,
  name: passkey.name,
  rp_id: passkey.rpId,
  created_at: passkey.createdAt.toISOString(),
  last_used_at: passkey.lastUsedAt?.toISOString() ?? null,
})

export interface PasskeysView {
  /** Left out when an error re-renders the page. */
  passkeys?: readonly z.output<typeof PasskeyJson>[]
  here: PasskeyContext
  notice?: string
  error?: { title: string; detail?: string }
  errors?: Record<string, string>
  values?: Record<string, string>
}

/** GET /security/passkeys: the passkeys section on a page of its own. */
export const passkeysPage = (auth: Auth, view: PasskeysView, status = 200) =>
  renderHtml('passkeys', { ...view, user: auth.user }, status)

/** A passkey's handle in a path: digits only (anything else names no passkey). */
export const PASSKEY_HANDLE = /^[1-9][0-9]{0,17}$/
