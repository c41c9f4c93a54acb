// POST /security/passkeys/options: the first half of adding a passkey. It issues a challenge bound
// to this session (single use, five minutes) and answers the options for
// navigator.credentials.create(): as JSON, or as the page that runs the authenticator and posts
// its answer to POST /security/passkeys (templates/passkey-create.njk).
import * as z from 'zod'
import { defineRoute, route } from '#lib/http/route.ts'
import { jsonResult, Timestamp } from '#lib/http/json.ts'
import { renderHtml } from '#lib/http/render.ts'
import { passkeyOptionsInput } from '#lib/auth/passkey-input.ts'
import { registrationOptions } from '#lib/auth/passkeys.ts'
import { CEREMONY_TIMEOUT_MS } from '#lib/auth/webauthn-challenges.ts'
import { passkeySiteOf, sessionHolder } from '#lib/http/passkey-guard.ts'

const OptionsJson = z.object({
  options: z.looseObject({ challenge: z.string() }).meta({
    description: 'PublicKeyCredentialCreationOptionsJSON: hand it to the authenticator.',
  }),
  expires_at: Timestamp.meta({ description: 'The challenge is good until then, once.' }),
})

export const spec = defineRoute({
  keys: ['POST /security/passkeys/options'],
  summary: 'Start adding a passkey: the options for the authenticator, bound to this session',
  description:
    'Only where a browser can use passkeys (HTTPS, or localhost; a name, not an address): elsewhere `403`. ' +
    'Asking again replaces the open challenge.',
  tag: 'session',
  auth: 'required',
  // adding a passkey is setting up a second factor: open to an account the policy sends to enrol
  beforeEnrolment: true,
  answers: 'page',
  page: 'security',
  input: passkeyOptionsInput,
  responses: { 200: { description: 'The options (HTML: the page that uses them).', json: OptionsJson, html: true } },
  problems: ['forbidden', 'internal_error', 'service_unavailable'],
})

export const handler = route(spec, async (event, { db, now }) => {
  const site = passkeySiteOf(event)
  const options = await registrationOptions(db, sessionHolder(event), site, now)
  if (event.wantsHtml) {
    return renderHtml('passkey-create', { user: event.auth.user, name: event.input.name, options })
  }
  const expiresAt = new Date(now.getTime() + CEREMONY_TIMEOUT_MS)
  const body = {
    options: options as unknown as z.output<typeof OptionsJson>['options'],
    expires_at: expiresAt.toISOString(),
  }
  return jsonResult(200, body satisfies z.output<typeof OptionsJson>)
})
