// Who may open which URL: the access rules (lib/platform/access-rules.ts) applied to an account.
// The most specific rule decides: the longest path prefix among the rules of the URL's host (the
// first in the file on a tie). No rule: denied. A path that could mean two things to the app
// behind the proxy (an encoded slash or backslash, a NUL, a bad %-escape) is denied rather than
// guessed at; dot segments are already resolved by URL parsing, as the app's server would.
import type { AccessRule, AccessRules, HostPattern } from '../platform/access-rules.ts'

export interface Member {
  readonly username: string
  readonly groups: readonly string[]
}

export type Decision =
  | { readonly allowed: true; readonly rule: AccessRule; readonly reason: 'bypass' | 'signed_in' | 'in_group' }
  | {
      readonly allowed: false
      readonly rule?: AccessRule
      readonly reason: 'no_rule' | 'ambiguous_path' | 'not_signed_in' | 'not_in_group'
    }

const DEFAULT_PORTS: Record<string, number> = { 'http:': 80, 'https:': 443 }
const AMBIGUOUS = /%(2f|5c|00)/i

const hostMatches = (host: HostPattern, url: URL) =>
  host.hostname === url.hostname && (host.port ?? DEFAULT_PORTS[url.protocol]) === portOf(url)

const portOf = (url: URL) => (url.port ? Number(url.port) : DEFAULT_PORTS[url.protocol])

/** True when `path` is `prefix` or lies below it, whole segments only (/app matches /app/x, not /apple). */
export const isUnder = (path: string, prefix: string) =>
  prefix === '/' || path === prefix || path.startsWith(`${prefix}/`)

function decodedPath(url: URL): string | undefined {
  if (AMBIGUOUS.test(url.pathname)) return undefined
  try {
    return decodeURIComponent(url.pathname)
  } catch {
    return undefined
  }
}

/** The rule that decides `url`, if any (the most specific one). */
export function ruleFor(rules: AccessRules, url: URL): AccessRule | 'ambiguous_path' | undefined {
  if (!(url.protocol in DEFAULT_PORTS)) return undefined
  const path = decodedPath(url)
  if (path === undefined) return 'ambiguous_path'
  let best: AccessRule | undefined
  for (const rule of rules.rules) {
    if (!rule.hosts.some((host) => hostMatches(host, url)) || !isUnder(path, rule.path)) continue
    if (!best || rule.path.length > best.path.length) best = rule
  }
  return best
}

/** May `member` (null: nobody is signed in) open `url`? */
export function decideAccess(rules: AccessRules, member: Member | null, url: URL): Decision {
  const rule = ruleFor(rules, url)
  if (rule === undefined) return { allowed: false, reason: 'no_rule' }
  if (rule === 'ambiguous_path') return { allowed: false, reason: 'ambiguous_path' }
  if (rule.allow === 'bypass') return { allowed: true, rule, reason: 'bypass' }
  if (!member) return { allowed: false, rule, reason: 'not_signed_in' }
  if (rule.allow === 'signed_in') return { allowed: true, rule, reason: 'signed_in' }
  const groups = rule.allow.groups
  return groups.some((group) => member.groups.includes(group))
    ? { allowed: true, rule, reason: 'in_group' }
    : { allowed: false, rule, reason: 'not_in_group' }
}

/** True when some rule names this URL's host and port: an app of this gateway. */
export const isProtectedHost = (rules: AccessRules, url: URL) =>
  rules.rules.some((rule) => rule.hosts.some((host) => hostMatches(host, url)))

/** A decision in words, for the CLI and the 403 page ("alice may not open ChirpStack: …"). */
export function explainDecision(decision: Decision, member: Member | null): string {
  const app = decision.rule ? appName(decision.rule) : 'this address'
  switch (decision.reason) {
    case 'bypass':
      return `allowed: ${app} is open to everyone (bypass, line ${decision.rule?.line})`
    case 'signed_in':
      return `allowed: ${app} is open to every signed-in account (line ${decision.rule?.line})`
    case 'in_group':
      return `allowed: ${member?.username} is in a group ${app} admits (line ${decision.rule?.line})`
    case 'no_rule':
      return 'denied: no access rule names this address, and what is not listed is closed'
    case 'ambiguous_path':
      return 'denied: the path has an encoded slash, backslash or NUL, or a bad %-escape'
    case 'not_signed_in':
      return `denied: ${app} needs a signed-in account`
    case 'not_in_group': {
      const groups = typeof decision.rule?.allow === 'object' ? decision.rule.allow.groups.join(', ') : ''
      const plural = groups.includes(',') ? 's' : ''
      return `denied: ${app} is only for the group${plural} ${groups} (line ${decision.rule?.line})`
    }
  }
}

/** What people call the app a rule protects: its name, else its host and path. */
export const appName = (rule: AccessRule) =>
  rule.name ?? `${rule.hosts[0]!.hostname}${rule.hosts[0]!.port ? `:${rule.hosts[0]!.port}` : ''}${rule.path}`

export interface PortalApp {
  readonly name: string
  readonly url: string
}

// the rules are fixed from start to stop and a decision reads only the groups: each dashboard of the
// same groups and scheme gets the same list, worked out (a URL parsed and decided per app) once
const portalLists = new WeakMap<AccessRules, Map<string, readonly PortalApp[]>>()

/** The named apps `member` may open, as the portal lists them; `scheme` builds links without `link`. */
export function appsFor(rules: AccessRules, member: Member, scheme: 'http' | 'https'): readonly PortalApp[] {
  let lists = portalLists.get(rules)
  if (!lists) portalLists.set(rules, (lists = new Map()))
  const key = `${scheme} ${member.groups.join(' ')}`
  let apps = lists.get(key)
  if (!apps) lists.set(key, (apps = listApps(rules, member, scheme)))
  return apps
}

function listApps(rules: AccessRules, member: Member, scheme: 'http' | 'https'): PortalApp[] {
  return rules.rules.flatMap((rule) => {
    if (!rule.name || rule.allow === 'bypass') return []
    const host = rule.hosts[0]!
    const url = rule.link ?? `${scheme}://${host.port ? `${host.hostname}:${host.port}` : host.hostname}${rule.path}`
    if (!decideAccess(rules, member, new URL(url)).allowed) return []
    return [{ name: rule.name, url: rule.path === '/' || rule.link ? url : `${url}/` }]
  })
}
