// The security page (GET /security): the account's second factors as they stand, for a browser
// (templates/security.njk) or a program (SecurityJson). A key waiting for its first code is shown
// as a QR code drawn here (an SVG in the page: no third-party service, no script) and as text.
import * as z from 'zod'
import { countRecoveryCodesLeft } from '../auth/recovery-codes.ts'
import { mustEnrol } from '../auth/second-factors.ts'
import type { Auth } from '../auth/sessions.ts'
import { findTotp, totpUri } from '../auth/totp.ts'
import type { Config } from '../platform/config.ts'
import type { Queryable } from '../platform/database.ts'
import type { RouteResult } from './event.ts'
import { renderHtml } from './render.ts'
import { listPasskeys } from '../auth/passkey-store.ts'
import { passkeyContextOf } from './passkey-context.ts'
import { hostOf } from './host-check.ts'
import { PasskeyJson, passkeyJson } from './passkey-view.ts'

/** The passkey section's view of where the page is (templates/_passkeys.njk). */
const passkeyHere = (state: SecurityState, host: string | undefined) =>
  state.passkeys_here === 'available'
    ? { available: true, rpId: hostOf(host ?? '') }
    : { available: false, reason: state.passkeys_here }

/** What every route of the security page declares: signed in, served before enrolment, errors on this page. */
export const SECURITY_ROUTE = {
  tag: 'session',
  auth: 'required',
  beforeEnrolment: true,
  answers: 'page',
  page: 'security',
} as const

export const SecurityJson = z.object({
  totp: z.enum(['off', 'pending', 'on']).meta({ description: '`pending`: set up, waiting for its first code.' }),
  totp_key: z.string().optional().meta({ description: 'While `pending`: the key (base32), for the app.' }),
  totp_uri: z.string().optional().meta({ description: 'While `pending`: the `otpauth://` URI (the QR code).' }),
  recovery_codes_left: z.number().int().min(0),
  second_factor_required: z.boolean().meta({ description: 'REQUIRE_SECOND_FACTOR applies and none is set up.' }),
  passkeys: z.array(PasskeyJson).meta({ description: 'Oldest first; each works only at its `rp_id`.' }),
  passkeys_here: z
    .enum(['available', 'insecure', 'address'])
    .meta({ description: 'Whether passkeys work at this address, or why not: plain HTTP, or an address.' }),
})
export type SecurityState = z.output<typeof SecurityJson>

/** The account's second factors as they stand; `host` names the gateway in the app's list. */
export async function securityState(
  db: Queryable,
  config: Pick<Config, 'requireSecondFactor'>,
  auth: Pick<Auth, 'user'>,
  host: string | undefined,
  secure: boolean,
): Promise<SecurityState> {
  const [factor, left, passkeys] = await Promise.all([
    findTotp(db, auth.user.id),
    countRecoveryCodesLeft(db, auth.user.id),
    listPasskeys(db, auth.user.id),
  ])
  const totp = !factor ? 'off' : factor.confirmed ? 'on' : 'pending'
  const here = passkeyContextOf({ secure, host })
  return {
    totp,
    ...(factor && !factor.confirmed
      ? {
          totp_key: factor.secret,
          totp_uri: await totpUri(factor.secret, `${auth.user.username}@${host ?? ''}`, 'gateway-auth'),
        }
      : {}),
    recovery_codes_left: left,
    second_factor_required: mustEnrol(
      { groups: auth.user.groups, hasSecondFactor: totp === 'on' || passkeys.length > 0 },
      config.requireSecondFactor,
    ),
    passkeys: passkeys.map(passkeyJson),
    passkeys_here: here.available ? 'available' : here.reason,
  }
}

interface PageExtras {
  /** Fresh recovery codes: shown this once. */
  recoveryCodes?: string[]
  notice?: string
  error?: object
  errors?: Record<string, string>
}

/** The page for `state`; what the QR code says is the otpauth URI (the SVG carries no script). */
/** The key's URI as an inline SVG QR code; qrcode is imported here, when a key is being set up, not with the routes. */
async function qrCodeSvg(uri: string): Promise<string> {
  const { default: QRCode } = await import('qrcode')
  const svg = await QRCode.toString(uri, { type: 'svg', errorCorrectionLevel: 'M', margin: 2 })
  return svg.replace('<svg ', '<svg role="img" aria-label="QR code of the key below" width="220" height="220" ')
}

export async function securityPage(
  auth: Pick<Auth, 'user'>,
  state: SecurityState,
  host: string | undefined,
  extras: PageExtras = {},
  status = 200,
): Promise<RouteResult> {
  const qrSvg = state.totp_uri ? await qrCodeSvg(state.totp_uri) : undefined
  return renderHtml(
    'security',
    {
      ...extras,
      user: auth.user,
      totp: state.totp === 'on' ? 'active' : state.totp,
      qrSvg,
      secretGroups: state.totp_key?.match(/.{1,4}/g)?.join(' '),
      recoveryCodesLeft: state.recovery_codes_left,
      mustEnrol: state.second_factor_required,
      passkeys: state.passkeys,
      here: passkeyHere(state, host),
    },
    status,
  )
}

export const RecoveryCodesJson = z.object({
  recovery_codes: z.array(z.string()).length(10).meta({ description: 'Shown this once; each works once.' }),
})

/** The answer that shows a fresh set of recovery codes: the page with them, or JSON. */
export async function freshCodesAnswer(
  event: { wantsHtml: boolean; auth: Pick<Auth, 'user'>; headers: Record<string, string | undefined>; secure: boolean },
  { db, config }: { db: Queryable; config: Pick<Config, 'requireSecondFactor'> },
  codes: string[],
): Promise<RouteResult> {
  if (!event.wantsHtml) {
    const body: z.output<typeof RecoveryCodesJson> = { recovery_codes: codes }
    return { statusCode: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }
  }
  const state = await securityState(db, config, event.auth, event.headers.host, event.secure)
  return securityPage(event.auth, state, event.headers.host, { recoveryCodes: codes })
}
