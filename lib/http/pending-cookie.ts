// How a browser carries its pending sign-in between the password and the second step: cookie
// `pending_sign_in` (`__Host-pending_sign_in` over HTTPS), HttpOnly, SameSite=Strict, for as long
// as the pending sign-in lives. Programs send the handle in the body instead (`pending`).
import { stringifySetCookie } from 'cookie'
import type { RouteEvent } from './event.ts'
import { readCookie } from './session-cookie.ts'

const cookieName = (secure: boolean) => (secure ? '__Host-pending_sign_in' : 'pending_sign_in')
const attributes = (secure: boolean) => ({ httpOnly: true, sameSite: 'strict', path: '/', secure }) as const

/** Set-Cookie carrying the pending sign-in's handle. */
export const pendingSignInCookie = (handle: string, secure: boolean, seconds: number) =>
  stringifySetCookie({ name: cookieName(secure), value: handle, ...attributes(secure), maxAge: seconds })

/** Set-Cookie deleting it (the sign-in finished). */
export const clearPendingSignInCookie = (secure: boolean) =>
  stringifySetCookie({ name: cookieName(secure), value: '', ...attributes(secure), maxAge: 0 })

/** The handle the browser carries, if any. */
export const readPendingSignInCookie = (event: Pick<RouteEvent, 'headers' | 'cookies' | 'secure'>) =>
  readCookie(event, cookieName(event.secure))
