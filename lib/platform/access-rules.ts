// The access rules file (ACCESS_RULES): which host and path prefix of the gateway's web apps is
// open to whom. YAML or JSON (JSON is YAML), read and checked once at start; a bad file stops the
// start with one line per problem, each naming its line. The decisions are lib/auth/access.ts.
//
//   rules:
//     - name: ChirpStack              # optional; named rules are the portal's links
//       host: gateway.local           # or a list; host:port for another port than 80/443
//       path: /chirpstack/            # a path prefix, whole segments; default /
//       allow: { groups: [admins] }   # or: signed_in, or: bypass (no session needed)
//       link: https://gateway.local/chirpstack/   # optional: the portal's link, else host + path
import { readFile } from 'node:fs/promises'
import { LineCounter, parseDocument } from 'yaml'
import * as z from 'zod'

export type Allow = 'bypass' | 'signed_in' | { readonly groups: readonly string[] }

export interface HostPattern {
  /** Lower case; an IDN in its punycode form (as URLs carry it). */
  readonly hostname: string
  /** undefined: the scheme's default port only (80 or 443). */
  readonly port: number | undefined
}

export interface AccessRule {
  readonly name: string | undefined
  readonly hosts: readonly HostPattern[]
  /** Starts and, unless it is "/", ends without a slash: a prefix of whole path segments. */
  readonly path: string
  readonly allow: Allow
  readonly link: string | undefined
  /** Where it is in the file, for messages ("rule 2, line 9"). */
  readonly line: number
}

export interface AccessRules {
  /** The file they came from; undefined: ACCESS_RULES is unset and every app is closed. */
  readonly source: string | undefined
  readonly rules: readonly AccessRule[]
}

export const NO_RULES: AccessRules = Object.freeze({ source: undefined, rules: Object.freeze([]) })

/** A bad rules file; the message is one line per problem, each naming the file and line. */
export class AccessRulesError extends Error {
  override name = 'AccessRulesError'
}

/** A group name: lower case, so a rule and an account can never differ by case only. */
export const GROUP_PATTERN = /^[a-z0-9][a-z0-9._-]{0,31}$/
const Host = z.string().transform((raw, ctx) => {
  const host = parseHost(raw)
  if (!host) ctx.addIssue({ code: 'custom', message: `"${raw}" is not a host name, IP address or host:port` })
  return host ?? { hostname: '', port: undefined }
})
const Path = z
  .string()
  .regex(/^\/[A-Za-z0-9._~!$&'()*+,;=:@/-]*$/, 'must start with / and be a plain path (no ?, #, %-escapes)')
  .refine((path) => !/(^|\/)\.\.?(\/|$)/.test(path) && !path.includes('//'), 'must not contain ., .. or //')
const Allow = z.union([
  z.literal('bypass'),
  z.literal('signed_in'),
  z.strictObject({ groups: z.array(z.string().regex(GROUP_PATTERN, 'is not a group name (a-z 0-9 . _ -)')).min(1) }),
])
const Rule = z.strictObject({
  name: z.string().trim().min(1).max(64).optional(),
  host: z.preprocess((value) => (typeof value === 'string' ? [value] : value), z.array(Host).min(1)),
  path: Path.default('/'),
  allow: Allow,
  link: z.url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' }).optional(),
})
const RulesFile = z.strictObject({ rules: z.array(Rule) })

function parseHost(raw: string): HostPattern | undefined {
  if (!raw || /[/?#@\\\s]/.test(raw)) return undefined
  try {
    const url = new URL(`http://${raw}`)
    const port = /:(\d+)$/.exec(raw)?.[1]
    return { hostname: url.hostname, port: port === undefined ? undefined : Number(port) }
  } catch {
    return undefined
  }
}

/** Parses and checks a rules file's text; throws AccessRulesError naming each bad line. */
export function parseAccessRules(text: string, source: string): AccessRules {
  const lineCounter = new LineCounter()
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true })
  const problems = doc.errors.map((error) => {
    const line = lineCounter.linePos(error.pos[0]).line
    return `${source} line ${line}: ${error.message.split('\n')[0]}`
  })
  if (problems.length) throw new AccessRulesError(problems.join('\n'))
  const lineOf = (path: readonly PropertyKey[]) => {
    for (let length = path.length; length >= 0; length--) {
      const node = doc.getIn(path.slice(0, length) as (string | number)[], true) as { range?: number[] } | undefined
      if (node?.range) return lineCounter.linePos(node.range[0]!).line
    }
    return 1
  }
  const parsed = RulesFile.safeParse(doc.toJS())
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => {
      const where = issue.path.map((key) => (typeof key === 'number' ? `[${key}]` : `.${String(key)}`)).join('')
      return `${source} line ${lineOf(issue.path)}: ${where.replace(/^\./, '') || 'the file'} ${issue.message}`
    })
    throw new AccessRulesError(lines.join('\n'))
  }
  const rules = parsed.data.rules.map(
    (rule, index): AccessRule => ({
      name: rule.name,
      hosts: rule.host,
      path: rule.path === '/' ? '/' : rule.path.replace(/\/$/, ''),
      allow: rule.allow,
      link: rule.link,
      line: lineOf(['rules', index]),
    }),
  )
  return Object.freeze({ source, rules: Object.freeze(rules) })
}

/**
 * Reads ACCESS_RULES: the path of the rules file or, starting with "{", the rules themselves as
 * JSON (a balena fleet variable needs no file on the device). Unset: no rules (every app closed).
 */
export async function loadAccessRules(file: string | undefined): Promise<AccessRules> {
  if (!file) return NO_RULES
  if (file.trimStart().startsWith('{')) return parseAccessRules(file, 'ACCESS_RULES')
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (error) {
    throw new AccessRulesError(`ACCESS_RULES: cannot read ${file}: ${(error as NodeJS.ErrnoException).code}`)
  }
  return parseAccessRules(text, file)
}
