// Scenario tables, after pocketbase's tests.ApiScenario: each row names a behaviour, the request,
// and what must come back (status, problem code, body, headers, cookies) and what it must have
// changed (`after`). `runScenarios` runs the same table twice: as Lambda invokes the handler with
// an API Gateway v2 event, and over HTTP through the Express adapter on a real port. Every answer
// is also checked against the OpenAPI document the route specs make, and never carries a secret.
import { describe, expect, it } from 'vitest'
import { matchRoute } from '#lib/http/routes.ts'
import { expectNoSecrets, expectProblem } from './expect.ts'
import { uniqueUsername } from './factories.ts'
import { CookieJar, parseSetCookie, type Call, type Reply } from './http.ts'
import { expectConforms } from './openapi.ts'
import { TRANSPORTS, useService, type Account, type ServiceOptions, type TestService } from './service.ts'

/** ctx.account's id and name in `expect` (the account exists only once the row runs): in logs, headers, text. */
export const ACCOUNT = { id: '<account.id>', username: '<account.username>' } as const
const own = <T>(value: T, account?: Account): T =>
  typeof value === 'string' && account
    ? (value.replaceAll(ACCOUNT.id, account.id).replaceAll(ACCOUNT.username, account.username) as T)
    : value

export interface ScenarioContext {
  service: TestService
  /** A fresh account (with `as`). */
  account: Account
  /** Its token: the bearer token (as: 'api') or the session cookie's value (as: 'browser'). */
  token: string
  /** The browser's jar holding its session cookie (as: 'browser'); an empty jar otherwise. */
  jar: CookieJar
  /** What `given` prepared for `after` (other tokens, a hash before the request, …). */
  kept: Record<string, string>
  /** A fresh unique username for `key`, the same for the whole scenario. */
  name(key: string): string
  /** The request as sent, and when (epoch ms, taken just before sending). */
  sent: Call & { path: string }
  sentAt: number
}

export interface Expected {
  status: number
  /** The problem code: an RFC 9457 problem+json body with it. */
  code?: string
  /** The JSON body matches this (toMatchObject). */
  json?: unknown
  /** The body text matches, or (a string) contains it. */
  text?: RegExp | string
  location?: string | RegExp
  /** Header values (null: absent; ACCOUNT.username stands for ctx.account's). */
  headers?: Record<string, string | RegExp | null>
  /** The Set-Cookie line for a cookie (`session` stands for the transport's session cookie; null: not set). */
  cookies?: Record<string, RegExp | null>
  /** Never in the body (the account's password and the signing secret are always checked). */
  absent?: string[]
  /**
   * Log lines the request wrote, each matched by one line's fields (ACCOUNT.id and ACCOUNT.username stand
   * for ctx.account's). The table is then run with the service's logs captured.
   */
  logs?: Record<string, unknown>[]
}

export interface Scenario {
  name: string
  /**
   * Start with a fresh account (ctx.account): only registered ('account'), or signed in through the
   * JSON API (a bearer token) or the form (a cookie).
   */
  as?: 'account' | 'api' | 'browser'
  /** More setting up before the request (e.g. earlier failed attempts). */
  given?: (ctx: ScenarioContext) => Promise<unknown>
  /** The request; `jar` sends ctx.jar unless the request names its own. */
  request: (ctx: ScenarioContext) => Call & { path: string }
  expect: Expected
  /** Side effects: what the request changed (or did not), checked after it. */
  after?: (ctx: ScenarioContext, reply: Reply) => Promise<void>
  /** Runs on one transport only (what only one of them can carry, e.g. a proxy's headers). */
  only?: TestService['transport']
}

/**
 * Runs `scenarios` once per transport, each against a service started with `options`; only on
 * `options.transport` when it names one (a table of what one transport alone can do, e.g. forward-auth,
 * which trusts a proxy of the device's own and so never answers as Lambda).
 */
export function runScenarios(title: string, scenarios: readonly Scenario[], options: ServiceOptions = {}): void {
  describe.each(options.transport ? [options.transport] : TRANSPORTS)(`${title} via %s`, (transport) => {
    const captureLogs = options.captureLogs || scenarios.some((scenario) => scenario.expect.logs)
    const service = useService({ ...options, captureLogs, transport })
    for (const scenario of scenarios) {
      const test = scenario.only && scenario.only !== transport ? it.skip : it
      test(scenario.name, () => play(service, scenario))
    }
  })
}

/** Sends one scenario's request to `service` and checks its expectations. */
export async function play(service: TestService, scenario: Scenario): Promise<Reply> {
  const names = new Map<string, string>()
  const name = (key: string) => {
    if (!names.has(key)) names.set(key, uniqueUsername(key))
    return names.get(key)!
  }
  const ctx = { service, jar: new CookieJar(), name, kept: {} } as ScenarioContext
  if (scenario.as) {
    // mixed case, so a scenario can show that names match case-insensitively
    ctx.account = await service.register('Scenario')
    if (scenario.as === 'account') ctx.token = ''
    else if (scenario.as === 'api') ctx.token = await service.apiLogin(ctx.account)
    else ctx.token = (await service.browserLogin(ctx.account, ctx.jar)).get(service.sessionCookie)!
  }
  await scenario.given?.(ctx)
  ctx.sent = scenario.request(ctx)
  const { path, ...call } = ctx.sent
  ctx.sentAt = Date.now()
  const logged = service.logs().length
  const reply = await service.http.call(path, { jar: ctx.jar, ...call })
  expectReply(service, ctx.sent, reply, scenario.expect, ctx.account)
  const written = service.logs().slice(logged)
  for (const line of scenario.expect.logs ?? []) {
    const wanted = Object.fromEntries(Object.entries(line).map(([key, value]) => [key, own(value, ctx.account)]))
    expect(written, JSON.stringify(wanted)).toContainEqual(expect.objectContaining(wanted))
  }
  const method = call.method ?? ((call.json ?? call.form ?? call.body) === undefined ? 'GET' : 'POST')
  expectDocumented(method, path, reply)
  await scenario.after?.(ctx, reply)
  return reply
}

function expectReply(service: TestService, sent: Call, reply: Reply, expected: Expected, account?: Account): void {
  const secrets = [...service.secretsOf(account), ...(expected.absent ?? [])]
  if (expected.code) expectProblem(reply, expected.status, expected.code, secrets)
  else {
    expect(reply.status, reply.text).toBe(expected.status)
    expectNoSecrets(reply.text, secrets)
  }
  expectBrowserSafety(service, sent, reply)
  // secrets never ride in a URL
  for (const secret of secrets) if (reply.location) expect(reply.location).not.toContain(secret)
  if (expected.json !== undefined) expect(reply.json).toMatchObject(expected.json as object)
  if (expected.text) expect(reply.text).toMatch(own(expected.text, account))
  if (expected.location !== undefined) expect(reply.location).toEqual(matcher(expected.location))
  for (const [name, value] of Object.entries(expected.headers ?? {}))
    expect(reply.headers.get(name), name).toEqual(value === null ? null : matcher(own(value, account)))
  for (const [name, value] of Object.entries(expected.cookies ?? {})) {
    const cookieName = name === 'session' ? service.sessionCookie : name
    const line = reply.setCookies.find((cookie) => parseSetCookie(cookie).name === cookieName)
    expect(line ?? null, `Set-Cookie ${cookieName}`).toEqual(value === null ? null : expect.stringMatching(value))
  }
}

/**
 * What every answer of every route carries, whatever the row is about (docs/api.md § Browser safety,
 * ASVS V3): the CSP, nosniff, the referrer policy, no framing, cross-origin isolation and no CORS;
 * HSTS over HTTPS; cookies HttpOnly and SameSite, and over HTTPS `__Host-` and Secure; redirects to
 * the service's own paths; bodies labelled with their type; a problem is never cached; a page runs
 * no inline script, style or handler (script files come from /static).
 */
function expectBrowserSafety(service: TestService, sent: Call, reply: Reply): void {
  const csp = new Map(
    (reply.headers.get('content-security-policy') ?? '')
      .split(';')
      .map((directive) => directive.trim().split(/\s+/))
      .map(([name = '', ...values]) => [name, values.join(' ')]),
  )
  const directives = ['default-src', 'frame-ancestors', 'form-action', 'base-uri', 'object-src', 'script-src']
  expect(
    directives.map((name) => csp.get(name)),
    'CSP',
  ).toEqual(["'none'", "'none'", "'self'", "'none'", "'none'", "'self'"])
  expect([...csp.values()].join(' ')).not.toMatch(/unsafe-|\*|https?:/)
  const https = service.transport === 'lambda'
  const hsts = Number(/max-age=(\d+)/.exec(reply.headers.get('strict-transport-security') ?? '')?.[1] ?? 0)
  expect({
    'x-content-type-options': reply.headers.get('x-content-type-options'),
    'referrer-policy': reply.headers.get('referrer-policy'),
    'x-frame-options': reply.headers.get('x-frame-options'),
    'cross-origin-resource-policy': reply.headers.get('cross-origin-resource-policy'),
    'cross-origin-opener-policy': reply.headers.get('cross-origin-opener-policy'),
    'content-security-policy-report-only': reply.headers.get('content-security-policy-report-only'),
    'HSTS of a year or more over HTTPS': !https || hsts >= 365 * 24 * 3600,
  }).toEqual({
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'same-origin',
    'x-frame-options': 'DENY',
    'cross-origin-resource-policy': 'same-origin',
    'cross-origin-opener-policy': 'same-origin',
    'content-security-policy-report-only': null,
    'HSTS of a year or more over HTTPS': true,
  })
  expect(
    [...reply.headers.keys()].filter((name) => name.startsWith('access-control-')),
    'no CORS',
  ).toEqual([])
  for (const line of reply.setCookies) {
    const { name, value, attributes } = parseSetCookie(line)
    expect([attributes.httponly, attributes.samesite], line).toEqual(['', expect.stringMatching(/^(Lax|Strict)$/)])
    // over HTTPS what a cookie holds is __Host-: Secure, Path=/, no Domain (a clearing line may name the HTTP one)
    if (https && value)
      expect([name.startsWith('__Host-'), attributes.secure, attributes.path, attributes.domain], line).toEqual([
        true,
        '',
        '/',
        undefined,
      ])
  }
  if (reply.location) {
    // a path of its own, or (forward-auth) the service at the host the proxy says it was asked at (Caddy, nginx)
    const original = sent.headers?.['x-original-url']
    const hosts = [new URL(service.origin).host, sent.headers?.['x-forwarded-host'], original && new URL(original).host]
    const absolute = /^https?:\/\/([^/]+)\//.exec(reply.location)?.[1]
    if (absolute) expect(hosts, `${reply.location}: the service's own host`).toContain(absolute)
    else expect(reply.location, 'a redirect stays on the service').toMatch(/^\/(?![/\\])/)
  }
  if (reply.text && reply.status !== 304)
    expect(reply.contentType).toMatch(
      /^(text\/html; charset=utf-8|application\/(problem\+)?json|text\/(css|javascript); charset=utf-8|image\/)/,
    )
  if (reply.contentType.startsWith('application/problem+json'))
    expect(reply.headers.get('cache-control'), 'a problem is not cached').toBe('no-store')
  if (reply.contentType.startsWith('text/html') && reply.text) {
    expect(reply.text).toMatch(/^<!doctype html>/i)
    // script files from /static are allowed (CSP script-src 'self'); attribute values are text
    const markup = reply.text
      .replace(/<script\b[^>]*\ssrc="\/static\/[^"]+"[^>]*><\/script>/g, '')
      .replace(/"[^"]*"/g, '""')
    expect(markup, 'nothing inline').not.toMatch(
      /<(script|style|object|embed|applet|i?frame)\b|\s(style|on[a-z]+)=|javascript:/i,
    )
  }
}

/** The answer is one the OpenAPI document gives for its operation (status, body schema, headers). */
function expectDocumented(method: string, path: string, reply: Reply): void {
  // HEAD is GET without a body (RFC 9110): the document lists the GET, and no body is there to check
  if (method === 'HEAD') return
  const { routeKey } = matchRoute(method, new URL(path, 'http://x').pathname)
  if (routeKey === '$default') return
  expectConforms(method, routeKey.split(' ')[1]!, reply)
}

const matcher = (value: string | RegExp) => (typeof value === 'string' ? value : expect.stringMatching(value))

/**
 * Every spelling Unicode case folding or normalisation could take to `name` (which has the letters
 * i, k, s, a, e and c): the login and registration tables show that none reaches the account.
 */
export const lookalikes = (name: string): [string, string][] =>
  (
    [
      ['İ (U+0130, dotted capital I)', name.replace('i', '\u0130')],
      ['ı (U+0131, dotless i)', name.replace('i', '\u0131')],
      ['i + U+0307 (what İ lower-cases to in JavaScript)', name.replace('i', 'i\u0307')],
      ['K (U+212A, Kelvin sign)', name.replace('k', '\u212a')],
      ['ſ (U+017F, long s)', name.replace('s', '\u017f')],
      ['ａ (fullwidth a)', name.replace('a', '\uff41')],
      ['fullwidth, every letter', name.replace(/[a-z]/g, (c) => String.fromCodePoint(c.codePointAt(0)! + 0xfee0))],
      ['e + U+0301 (combining acute)', name.replace('e', 'e\u0301')],
      ['é (U+00E9, precomposed)', name.replace('e', '\u00e9')],
      ['a zero-width joiner inside', name.replace('c', 'c\u200d')],
    ] as [string, string][]
  ).map(([label, variant]) => {
    expect(variant, label).not.toBe(name)
    return [label, variant]
  })
