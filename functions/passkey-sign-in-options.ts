// POST /login/second-factor/passkey/options: the second step with a passkey, first half. For the
// pending sign-in (the browser's cookie, or `pending`), a challenge bound to it (single use, five
// minutes) and the options for navigator.credentials.get(): as JSON, or as the page that asks the
// authenticator and posts its answer to POST /login/second-factor/passkey.
import * as z from 'zod'
import { defineRoute, route } from '#lib/http/route.ts'
import { jsonResult, Timestamp } from '#lib/http/json.ts'
import { renderHtml } from '#lib/http/render.ts'
import { passkeySignInOptionsInput } from '#lib/auth/passkey-input.ts'
import { authenticationOptions, passkeysAt } from '#lib/auth/passkeys.ts'
import { findPendingSignIn } from '#lib/auth/pending-sign-ins.ts'
import { CEREMONY_TIMEOUT_MS } from '#lib/auth/webauthn-challenges.ts'
import { readPendingSignInCookie } from '#lib/http/pending-cookie.ts'
import { passkeySiteOf, pendingHolder } from '#lib/http/passkey-guard.ts'
import { Problem } from '#lib/problem.ts'

const OptionsJson = z.object({
  options: z.looseObject({ challenge: z.string() }).meta({
    description: 'PublicKeyCredentialRequestOptionsJSON: hand it to the authenticator.',
  }),
  expires_at: Timestamp.meta({ description: 'The challenge is good until then, once.' }),
})

export const spec = defineRoute({
  keys: ['POST /login/second-factor/passkey/options'],
  summary: 'Sign in, second step with a passkey: the options for the authenticator',
  description:
    'For the pending sign-in of `POST /login`. Only where passkeys work (HTTPS or localhost, by name) and the ' +
    'account has a passkey registered at this name: otherwise `403`, `detail` says why.',
  tag: 'account',
  auth: 'optional',
  answers: 'page',
  page: 'second-factor',
  input: passkeySignInOptionsInput,
  responses: {
    200: { description: 'The options (HTML: the page that uses them).', json: OptionsJson, html: true },
    303: {
      description: 'Form: no live pending sign-in (expired, used, another client): to `/login`.',
      headers: ['Location', 'Set-Cookie'],
    },
  },
  problems: ['pending_sign_in_expired', 'forbidden', 'internal_error', 'service_unavailable'],
})

export const handler = route(spec, async (event, { db, now }) => {
  const handle = event.input.pending ?? readPendingSignInCookie(event)
  const pending = await findPendingSignIn(db, handle, event.clientIp, now)
  const site = passkeySiteOf(event)
  if (!(await passkeysAt(db, pending.userId, site)).length) {
    throw new Problem('forbidden', { detail: `None of your passkeys was added at ${site.rpId}; use a code instead.` })
  }
  const options = await authenticationOptions(db, pendingHolder(pending, handle!), site, now)
  if (event.wantsHtml) return renderHtml('passkey-sign-in', { options })
  const expiresAt = new Date(now.getTime() + CEREMONY_TIMEOUT_MS).toISOString()
  const body = { options: options as unknown as z.output<typeof OptionsJson>['options'], expires_at: expiresAt }
  return jsonResult(200, body satisfies z.output<typeof OptionsJson>)
})
