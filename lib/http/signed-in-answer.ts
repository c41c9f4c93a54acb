// Finishing a sign-in, whichever step proved the last factor: the password (an account without a
// second factor), a TOTP or recovery code, or a passkey. One transaction records the login, ends the
// session this client held and starts the new one; the answer is a cookie and a 303 for browsers
// (to `return_to`, else the dashboard) or the token for programs. An account that the policy
// (REQUIRE_SECOND_FACTOR) requires to set up a second factor is sent to /security instead.
import * as z from 'zod'
import type { SignInMethod } from '../auth/second-factors.ts'
import { mustEnrol } from '../auth/second-factors.ts'
import { createSession, revokeSession } from '../auth/sessions.ts'
import { recordLogin, type User } from '../auth/users.ts'
import type { Queryable } from '../platform/database.ts'
import type { RouteEvent, RouteResult } from './event.ts'
import { jsonResult, userJson, UserJson } from './json.ts'
import { noticeCookie, seeOther } from './pages.ts'
import { clearPendingSignInCookie } from './pending-cookie.ts'
import type { HandlerContext } from './request-context.ts'
import type { ResponseSpec } from './route-spec.ts'
import { sessionCookie } from './session-cookie.ts'

export const SignedInJson = z.object({
  access_token: z.string().regex(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/),
  token_type: z.literal('Bearer'),
  expires_in: z.number().int().min(1).meta({ description: 'Seconds: `SESSION_TTL_SECONDS`.' }),
  user: UserJson,
  return_to: z.string().optional().meta({ description: 'The accepted `return_to`, when one was sent.' }),
  recovery_codes_left: z
    .number()
    .int()
    .min(0)
    .optional()
    .meta({ description: 'Signed in with a recovery code: how many unused ones are left.' }),
  enrol_second_factor: z
    .literal('/security')
    .optional()
    .meta({
      description:
        'REQUIRE_SECOND_FACTOR requires a second factor of this account: until one is set up at `/security`, ' +
        'the token reaches nothing else (`403 second_factor_enrolment_required`).',
    }),
})

/** The two answers every step that finishes a sign-in documents. */
export const SIGNED_IN_RESPONSES = {
  200: { description: 'Signed in.', json: SignedInJson },
  303: {
    description:
      'Form: signed in; to `return_to`, else `/dashboard/<username>` (`/security` when the policy requires ' +
      'a second factor the account does not have yet).',
    headers: [
      { name: 'Location', description: '`/dashboard/<username>`, the accepted `return_to`, or `/security`.' },
      'Set-Cookie',
    ],
  },
} as const satisfies Record<number, ResponseSpec>

export interface SignedIn {
  readonly token: string
  readonly user: User
  readonly method: SignInMethod
}

/** In the caller's transaction: records the login, ends the session this client held, starts the new one. */
export async function startSignedInSession(
  tx: Queryable,
  event: Pick<RouteEvent, 'auth'>,
  ctx: Pick<HandlerContext, 'now' | 'config' | 'jwtSecret'>,
  userId: string,
  method: SignInMethod,
): Promise<SignedIn> {
  const user = await recordLogin(tx, userId, ctx.now)
  // signing in again replaces the session this client held: the old token ends here (ASVS 7.2.4)
  if (event.auth) await revokeSession(tx, event.auth.session.id, ctx.now)
  const { token } = await createSession(tx, user, ctx.now, ctx, method)
  return { token, user, method }
}

/** The answer to a finished sign-in: cookie and 303 for a browser, the token for a program. */
export function signedInAnswer(
  event: Pick<RouteEvent, 'wantsHtml' | 'secure'>,
  ctx: Pick<HandlerContext, 'config'>,
  signedIn: SignedIn,
  { returnTo, recoveryCodesLeft }: { returnTo?: string | undefined; recoveryCodesLeft?: number } = {},
): RouteResult {
  const { config } = ctx
  const { user, token } = signedIn
  const enrol = mustEnrol(
    { groups: user.groups, hasSecondFactor: signedIn.method !== 'password' },
    config.requireSecondFactor,
  )
  if (event.wantsHtml) {
    const cookies = [
      sessionCookie(token, event.secure, config.session.ttlSeconds, config.frontDoor.cookieDomain),
      ...(signedIn.method === 'password' ? [] : [clearPendingSignInCookie(event.secure)]),
      ...(recoveryCodesLeft === undefined ? [] : [noticeCookie('recovery_code_used', event.secure)]),
    ]
    const home = recoveryCodesLeft === undefined ? `/dashboard/${encodeURIComponent(user.username)}` : '/security'
    return seeOther(enrol ? '/security' : (returnTo ?? home), cookies)
  }
  const body: z.output<typeof SignedInJson> = {
    access_token: token,
    token_type: 'Bearer',
    // the contract's number, not the time left computed back from a start floored to whole seconds
    expires_in: config.session.ttlSeconds,
    user: userJson(user),
    ...(returnTo ? { return_to: returnTo } : {}),
    ...(recoveryCodesLeft === undefined ? {} : { recovery_codes_left: recoveryCodesLeft }),
    ...(enrol ? { enrol_second_factor: '/security' as const } : {}),
  }
  return jsonResult(200, body)
}
