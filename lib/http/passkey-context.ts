// Where a page may offer passkeys. WebAuthn exists only in a secure context (HTTPS, or the loopback
// names a browser trusts as if they were: localhost, 127.0.0.0/8, ::1), and a passkey is bound to a
// domain name (its RP ID), never to an address. So a gateway opened over plain HTTP by its LAN
// address gets no passkey buttons, and a page that says why (docs/decisions/020-passkeys.md).
// The name and the scheme are the request's own, as the front-door proxy forwards them: Host passed
// the host check (lib/http/host-check.ts), and HTTPS is believed only from TRUST_PROXY (client.ts).
import { isIP } from 'node:net'
import { hostOf } from './host-check.ts'

/** Why a page offers no passkeys: plain HTTP off the machine, or a page opened by its address. */
export type NoPasskeyReason = 'insecure' | 'address'

export type PasskeyContext =
  | { readonly available: true; readonly rpId: string; readonly origin: string }
  | { readonly available: false; readonly reason: NoPasskeyReason }

const isLoopback = (host: string) =>
  host === 'localhost' || host.endsWith('.localhost') || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host)

/** The page's origin as a browser writes it: scheme, lower-case host, and the port only when not the default. */
function originOf(secure: boolean, hostHeader: string): string {
  const scheme = secure ? 'https' : 'http'
  const defaultPort = secure ? ':443' : ':80'
  const host = hostHeader.toLowerCase()
  return `${scheme}://${host.endsWith(defaultPort) ? host.slice(0, -defaultPort.length) : host}`
}

/** Whether a page reached with this Host (over HTTPS or not) may offer passkeys, and under which RP ID and origin. */
export function passkeyContextOf(request: { secure: boolean; host: string | undefined }): PasskeyContext {
  const host = request.host === undefined ? null : hostOf(request.host)
  if (host === null) return { available: false, reason: 'insecure' }
  if (!request.secure && !isLoopback(host)) return { available: false, reason: 'insecure' }
  if (isIP(host)) return { available: false, reason: 'address' }
  return { available: true, rpId: host, origin: originOf(request.secure, request.host!) }
}
