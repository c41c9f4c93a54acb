// Where sign-in sends the browser back to ("return_to"): only to an app of this gateway (a host
// and port the access rules name) or to this service itself. Anything else would make the sign-in
// page an open redirect, so the raw value is held to a narrow shape before a URL parser (which
// forgives a lot: backslashes, tabs, "https:evil") ever sees it:
//   - a path of this service: "/" then anything but "/" or "\" ("//evil" is another host);
//   - or an absolute "http://" / "https://" URL, without user info, whose host and port are the
//     service's own or a protected app's (an IDN compares in punycode, so a lookalike never matches).
// No control characters, spaces or backslashes anywhere: browsers drop or rewrite them.
import type { AccessRules } from '../platform/access-rules.ts'
import { isProtectedHost } from './access.ts'

export const RETURN_TO_MAX_LENGTH = 2048
const ABSOLUTE = /^https?:\/\/[^/\\]/i
const OWN_PATH = /^\/(?![/\\])/
const FORBIDDEN_CHARACTERS = /[\u0000-\u0020\u007f\\]/

/** The URL to go back to, normalised, or undefined when `raw` may not be followed. */
export function safeReturnTo(
  raw: unknown,
  { rules, ownOrigins }: { rules: AccessRules; ownOrigins: readonly string[] },
): string | undefined {
  if (typeof raw !== 'string' || !raw || raw.length > RETURN_TO_MAX_LENGTH || FORBIDDEN_CHARACTERS.test(raw))
    return undefined
  if (OWN_PATH.test(raw)) {
    const url = parse(raw, 'http://service.invalid')
    return url?.origin === 'http://service.invalid' ? `${url.pathname}${url.search}${url.hash}` : undefined
  }
  if (!ABSOLUTE.test(raw)) return undefined
  const url = parse(raw)
  if (!url || url.username || url.password) return undefined
  return ownOrigins.includes(url.origin) || isProtectedHost(rules, url) ? url.href : undefined
}

function parse(raw: string, base?: string): URL | undefined {
  try {
    return new URL(raw, base)
  } catch {
    return undefined
  }
}
