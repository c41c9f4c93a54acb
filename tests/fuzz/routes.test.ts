// Property-based fuzzing of every route (issue 3, "Safe under attack"): arbitrary methods, paths,
// headers, content types and bodies over real HTTP, and arbitrary API Gateway v2 events straight
// into the Lambda handlers. Whatever arrives, the service must answer:
//   - never a 5xx, never a crash (the service still answers /health, nothing logged at error level);
//   - with the browser-safety headers, and problem bodies that carry one of the contract's codes;
//   - never a changed row on refusal: a 4xx leaves `users` and `sessions` exactly as they were
//     (the throttling counters are meant to change on refusals and are not compared).
// Bounded: FUZZ_RUNS requests per property (default below), FUZZ_SEED replays a run (fast-check
// prints the seed and the shrunk counterexample on failure).
import type { IncomingHttpHeaders } from 'node:http'
import { parse as parseQuery } from 'node:querystring'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import fc from 'fast-check'
import type { APIGatewayProxyEventV2 } from 'aws-lambda'
import { PROBLEMS } from '#lib/problem.ts'
import { FUNCTION_NAMES, ROUTES, type RouteKey } from '#lib/http/routes.ts'
import { LOCAL_API_ID } from '#lib/http/client.ts'
import { lambdaContext } from '../../adapters/express-app.ts'
import { apiGatewayEvent } from '../helpers/events.ts'
import { OWN_ORIGIN } from '../helpers/handlers.ts'

import { strongPassword, uniqueUsername } from '../helpers/factories.ts'
import { client, expectHtmlSafety, rawRequest, toHeaders } from '../helpers/http.ts'
import { expectNoSecrets } from '../helpers/expect.ts'
import { startService, type TestService } from '../helpers/service.ts'

// ~3 s each on two cores; 10,000 each (~40 s) found three bugs, fixed since (see the regression tests in tests/http/adapter-edges.test.ts)
const RUNS = Number(process.env.FUZZ_RUNS ?? 1000)
const LAMBDA_RUNS = Number(process.env.FUZZ_LAMBDA_RUNS ?? 1000)
const SEED = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : undefined
// bounded by the number of runs; the clock only guards against a hang (a loaded machine is slow)
const FUZZ_TIMEOUT_MS = 180_000
const params = (numRuns: number) => ({ numRuns, ...(SEED === undefined ? {} : { seed: SEED }) })

/** The list written as one string: 'a b c' → ['a', 'b', 'c']. */
const words = (text: string) => text.trim().split(/\s+/)
/** Put into strings that may be echoed: an HTML page must never contain it unescaped. */
const MARKER = '<x-fuzz>'
/** The fuzzed accounts' passwords, drawn often, so logins and password changes succeed now and then. */
const PASSWORDS = [
  'harbor lantern fuzz one quartz',
  'harbor lantern fuzz two quartz',
  'harbor lantern fuzz three quartz',
]
const ACCOUNTS = [uniqueUsername('fz'), uniqueUsername('fz'), uniqueUsername('fz')]

// the route table is the list: every function it names, and every route key
const ROUTE_KEYS = Object.keys(ROUTES) as RouteKey[]
const POST_KEYS = ROUTE_KEYS.filter((key) => key.startsWith('POST '))
// a {param} becomes a value that names something real, now and then
const PARAM_VALUES: Record<string, readonly string[]> = { file: ['style.css'], code: Object.keys(PROBLEMS) }

interface Sent {
  method: string
  path: string
  headers: Record<string, string | string[]>
  body?: Buffer
  /** Send the body chunked (no Content-Length), in two writes. */
  chunked?: boolean
}
interface Answer {
  status: number
  headers: IncomingHttpHeaders
  text: string
}

/** One request exactly as drawn: raw bytes, the path not normalised, chunked in two writes or with its length. */
function send(baseUrl: string, sent: Sent): Promise<Answer> {
  const { method, path, headers, body } = sent
  if (body && sent.chunked) {
    const half = body.length >> 1
    return rawRequest(baseUrl, {
      method,
      path,
      headers: { ...headers, 'transfer-encoding': 'chunked' },
      chunks: [body.subarray(0, half), body.subarray(half)],
    })
  }
  return rawRequest(baseUrl, { method, path, headers, body })
}

/** What every answer must be, whatever was asked. */
function expectSafeAnswer(
  answer: { status: number; headers: Headers; text: string },
  options: { head: boolean; secrets: string[] },
): void {
  const { status, headers, text } = answer
  expect(status, 'never a 5xx').toBeLessThan(500)
  expect(status).toBeGreaterThanOrEqual(200)
  expect(headers.get('content-security-policy'), 'Content-Security-Policy on every answer').toBeTruthy()
  expect(headers.get('x-content-type-options')).toBe('nosniff')
  expect(headers.get('x-powered-by')).toBeNull()
  if (status === 405) expect(headers.get('allow')).toBeTruthy()
  if (status === 429) expect(headers.get('retry-after')).toMatch(/^\d+$/)
  const contentType = headers.get('content-type') ?? ''
  if (contentType.startsWith('text/html')) {
    expectHtmlSafety(headers)
    expect(text, 'user input is escaped in pages').not.toContain(MARKER)
  }
  if (options.head) return
  if (contentType.startsWith('application/problem+json')) {
    const problem = JSON.parse(text)
    expect(Object.keys(PROBLEMS)).toContain(problem.code)
    expect({ status: problem.status, title: typeof problem.title, type: typeof problem.type }).toEqual({
      status: PROBLEMS[problem.code as keyof typeof PROBLEMS][0],
      title: 'string',
      type: 'string',
    })
    expect(problem.status).toBe(status)
  } else if (contentType.startsWith('application/json')) {
    JSON.parse(text)
  }
  if (status >= 400) expect(contentType).toMatch(/^(application\/problem\+json|text\/html)/)
  if (!contentType.startsWith('text/css')) expectNoSecrets(text, options.secrets)
}

// ---------------------------------------------------------------------------------------------
// Arbitraries

/** Text a header value may hold on the wire (node:http refuses CR, LF and NUL): ASCII and Latin-1. */
const headerText = (maxLength = 60) =>
  fc
    .array(
      fc.oneof(
        { arbitrary: fc.integer({ min: 0x20, max: 0x7e }), weight: 8 },
        fc.integer({ min: 0x80, max: 0xff }),
        fc.constant(9),
      ),
      {
        maxLength,
      },
    )
    .map((codes) => String.fromCharCode(...codes))

const base64url = (value: unknown) =>
  Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url')

/** What a JSON field may hold instead of text. */
const notText = fc.oneof(
  fc.integer(),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.string(), { maxLength: 3 }),
  fc.object({ maxDepth: 2 }),
)

/** Strings for usernames: the fuzz accounts (any case), invalid shapes, fresh names, anything. */
const usernameArb = fc.oneof(
  { arbitrary: fc.constantFrom(...ACCOUNTS), weight: 4 },
  fc.constantFrom(...ACCOUNTS).chain((name) => fc.mixedCase(fc.constant(name))),
  {
    arbitrary: fc.constantFrom(
      '',
      'ab',
      'x'.repeat(33),
      'a'.repeat(257),
      MARKER,
      "o'brien",
      `${ACCOUNTS[0]}\u0000`,
      '\u0000',
      ` ${ACCOUNTS[0]} `,
      'ａｄｍｉｎ',
      '../admin',
      "admin'--",
      '%00',
      '\ud800',
      'İstanbul',
      'a\u0301bc',
      `${MARKER}"'&`,
    ),
    weight: 3,
  },
  fc.stringMatching(/^fz-new-[a-z0-9]{4,10}$/),
  fc.string({ maxLength: 40, unit: 'binary' }),
  notText,
)

/** Passwords: the accounts' own, strong, short, around bcrypt's 72 bytes, common, odd, not text. */
const passwordArb = fc.oneof(
  { arbitrary: fc.constantFrom(...PASSWORDS), weight: 4 },
  fc.constant(null).map(() => strongPassword()),
  fc.constantFrom(
    '',
    'short',
    '1qaz2wsx3edc4rfv',
    'é'.repeat(36),
    `${'é'.repeat(36)}a`,
    'x'.repeat(72),
    'x'.repeat(73),
    `${MARKER} long enough password`,
    '\u0000'.repeat(20),
    '\ud800'.repeat(20),
    `${ACCOUNTS[0]} and more words`,
  ),
  fc.string({ minLength: 10, maxLength: 80, unit: 'binary' }),
  notText,
)

const fieldNameArb = fc.oneof(
  { arbitrary: fc.constantFrom('username', 'password', 'current_password', 'new_password'), weight: 6 },
  fc.constantFrom('', ...words('__proto__ constructor prototype toString hasOwnProperty valueOf role is_admin id')),
  fc.constantFrom('username[]', 'user[name]'),
  fc.string({ maxLength: 12 }),
)

/** A JSON object shaped like the forms, plus extra and prototype-polluting keys. */
const credentialsJsonArb = fc
  .tuple(
    fc.record(
      { username: usernameArb, password: passwordArb, current_password: passwordArb, new_password: passwordArb },
      { requiredKeys: [] },
    ),
    fc.array(fc.tuple(fieldNameArb, fc.jsonValue({ maxDepth: 2 })), { maxLength: 3 }),
    fc.boolean(),
  )
  .map(([fields, extra, duplicate]) => {
    let text = JSON.stringify(fields)
    // extra members written by hand: JSON.stringify cannot write a "__proto__" own key or duplicates
    const members = extra.map(([key, value]) => `${JSON.stringify(key)}:${JSON.stringify(value)}`)
    if (duplicate) members.push(`"username":${JSON.stringify(ACCOUNTS[1])}`)
    if (members.length) text = text === '{}' ? `{${members.join(',')}}` : `${text.slice(0, -1)},${members.join(',')}}`
    return text
  })

const deepNesting = fc
  .tuple(fc.integer({ min: 100, max: 8000 }), fc.constantFrom(['[', ']'], ['{"a":', '}'], ['{"username":', '}']))
  .map(([depth, [open, close]]) => `${open.repeat(depth)}1${close.repeat(depth)}`)

/** Bodies around the 16 KiB limit, some ending in half a UTF-8 character. */
const nearLimit = fc
  .tuple(
    fc.integer({ min: 16 * 1024 - 40, max: 16 * 1024 + 8 }),
    fc.constantFrom('a', 'é', '€', '𝄞'),
    fc.constantFrom('json', 'raw'),
  )
  .map(([size, char, shape]) => {
    if (shape === 'raw') return Buffer.alloc(size, char)
    const prefix = Buffer.from('{"username":"')
    return Buffer.concat([prefix, Buffer.alloc(Math.max(0, size - prefix.length - 2), char), Buffer.from('"}')])
  })

const formArb = fc
  .array(fc.tuple(fieldNameArb, fc.oneof(usernameArb, passwordArb).map(String), fc.constantFrom('encoded', 'raw')), {
    maxLength: 6,
  })
  .chain((pairs) =>
    fc
      .constantFrom('', '&', '&&', '%', '%zz', '=%E0%A4%A', 'a=%ff%fe', '__proto__[admin]=1')
      .map((tail) =>
        [
          ...pairs.map(([key, value, how]) =>
            how === 'encoded'
              ? `${encodeURIComponent(key.toWellFormed())}=${encodeURIComponent(value.toWellFormed())}`
              : `${key}=${value}`,
          ),
          tail,
        ]
          .filter(Boolean)
          .join('&'),
      ),
  )

const bodyArb: fc.Arbitrary<Buffer | undefined> = fc.oneof(
  { arbitrary: fc.constant(undefined), weight: 3 },
  { arbitrary: credentialsJsonArb.map((text) => Buffer.from(text)), weight: 6 },
  { arbitrary: formArb.map((text) => Buffer.from(text)), weight: 4 },
  fc.jsonValue({ maxDepth: 4 }).map((value) => Buffer.from(JSON.stringify(value) ?? 'null')),
  fc
    .constantFrom(
      '',
      'null',
      '[]',
      '"text"',
      '1e999999',
      '{',
      '{"username":',
      '\ufeff{"username":"a"}',
      '{"a":1}garbage',
      'true',
    )
    .map((t) => Buffer.from(t)),
  deepNesting.map((text) => Buffer.from(text)),
  nearLimit,
  fc.uint8Array({ maxLength: 300 }).map((bytes) => Buffer.from(bytes)),
  fc.string({ maxLength: 200, unit: 'binary' }).map((text) => Buffer.from(text)),
)

const contentTypeArb = fc.oneof(
  {
    arbitrary: fc.constantFrom(
      'application/json',
      'application/json; charset=utf-8',
      'application/json ; charset=latin1',
      'APPLICATION/JSON',
      'application/merge-patch+json',
      'application/problem+json',
      'application/x-www-form-urlencoded',
      'application/x-www-form-urlencoded; charset=utf-8',
      'application/x-www-form-urlencoded;charset=ISO-8859-1',
    ),
    weight: 8,
  },
  fc.constantFrom(
    'multipart/form-data; boundary=xyz',
    'text/plain',
    'text/html',
    'application/xml',
    'application/octet-stream',
    '',
    ';',
    '*/*',
    'application/json;;;',
    'application/jsonx',
    'application/json, text/plain',
    'application/x-www-form-urlencoded, application/json',
    'application/vnd.api+json',
    'application/+json',
    'json',
  ),
  headerText(),
)

const acceptArb = fc.oneof(
  fc.constantFrom(
    'application/json',
    'text/html',
    '*/*',
    'application/*',
    'text/html;q=0, application/json;q=0.1',
    'application/json;q=abc',
    'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8',
    'image/png',
    '',
    ',,,',
    'application/problem+json',
  ),
  headerText(),
)

/** Session tokens a caller may present: live ones, tampered, JWT-shaped forgeries, garbage. */
function tokenArb(liveTokens: () => string[]) {
  const live = fc.nat().map((i) => liveTokens()[i % liveTokens().length]!)
  return fc.oneof(
    { arbitrary: live, weight: 3 },
    fc.tuple(live, fc.nat(), fc.constantFrom('A', '_', '-', '.', '')).map(([token, i, char]) => {
      const at = i % token.length
      return token.slice(0, at) + char + token.slice(at + 1)
    }),
    fc
      .tuple(
        fc.constantFrom('none', 'HS256', 'HS512', 'RS256', 'ES256', ''),
        fc.record(
          {
            sub: fc.oneof(fc.string(), fc.integer(), fc.constant('1')),
            jti: fc.string(),
            exp: fc.oneof(fc.integer(), fc.double(), fc.string()),
            iat: fc.integer(),
            iss: fc.constantFrom('gateway-auth', 'evil'),
            aud: fc.constantFrom('gateway-auth', ['gateway-auth'], 'evil'),
            preferred_username: usernameArb,
          },
          { requiredKeys: [] },
        ),
        fc.string({
          maxLength: 43,
          unit: fc.constantFrom(...'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_'.split('')),
        }),
      )
      .map(([alg, claims, signature]) => `${base64url({ alg, typ: 'JWT' })}.${base64url(claims)}.${signature}`),
    fc.constantFrom('', '.', '..', 'a.b.c', 'null', 'undefined', '%00', 'x'.repeat(4000), `${'e30'}.${'e30'}.`),
    headerText(80),
  )
}

const originArb = (own: string) =>
  fc.oneof(
    fc.constantFrom(own, 'http://evil.example', 'null', '', `${own}.evil.example`, 'https://127.0.0.1'),
    headerText(40),
  )

function headersArb(own: string, liveTokens: () => string[]) {
  const token = tokenArb(liveTokens)
  const cookie = fc.oneof(
    token.map((t) => `session=${t}`),
    token.map((t) => `__Host-session=${t}`),
    fc.tuple(token, token).map(([a, b]) => `session=${a}; session=${b}; __Host-session=${b}`),
    fc
      .constantFrom(
        'notice=registered',
        'notice=password_changed',
        'notice=signed_out',
        'notice=__proto__',
        'notice=constructor',
        `notice=${MARKER}`,
      )
      .map((notice) => notice.replace(/[<>]/g, '%3C')),
    fc.constantFrom(...words('session session= = ;;; session=% session=%zz session="unterminated __proto__=1')),
    headerText(120),
  )
  const authorization = fc.oneof(
    token.map((t) => `Bearer ${t}`),
    token.map((t) => `bearer   ${t}  `),
    fc.constantFrom('Bearer', 'Bearer ', 'Basic YWRtaW46YWRtaW4=', 'Bearer a b', 'Token abc'),
    headerText(80),
  )
  const forwardedFor = fc.oneof(
    fc.constantFrom(
      '203.0.113.9',
      '::1',
      '10.0.0.1, 203.0.113.9',
      'unknown',
      '',
      ',',
      '999.999.999.999',
      '::ffff:1.2.3.4',
      'fe80::1%eth0',
      '1.2.3.4:5678',
    ),
    headerText(60),
  )
  // a header given twice arrives as two lines (Node joins cookies with "; ", most others with ", ")
  const twice = <T>(arb: fc.Arbitrary<T>) =>
    fc.oneof({ arbitrary: arb, weight: 5 }, fc.array(arb, { minLength: 2, maxLength: 3 }))
  return fc.record(
    {
      'content-type': contentTypeArb,
      accept: acceptArb,
      origin: twice(originArb(own)),
      'sec-fetch-site': fc.constantFrom('cross-site', 'same-origin', 'same-site', 'none', 'garbage'),
      cookie: twice(cookie),
      authorization,
      'x-forwarded-for': twice(forwardedFor),
      'x-forwarded-proto': fc.oneof(fc.constantFrom('https', 'http', 'HTTPS, http', 'ftp', ''), headerText(20)),
      host: fc.oneof(fc.constantFrom('127.0.0.1', 'evil.example', 'localhost:1', '[::1]', ''), headerText(30)),
      'accept-language': headerText(30),
    },
    { requiredKeys: [] },
  )
}

/** Any other header a client may make up. */
const extraHeadersArb = fc.dictionary(
  fc
    .string({
      minLength: 1,
      maxLength: 12,
      unit: fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz0123456789-_.!#$%&*+^`|~'.split('')),
    })
    .map((name) => `x-${name}`),
  headerText(40),
  { maxKeys: 3 },
)

/** Chaos: any method, path, headers and body, independently of one another. */
const chaoticRequestArb = (own: string, liveTokens: () => string[]) =>
  fc
    .record({
      method: methodArb,
      path: pathArb,
      headers: headersArb(own, liveTokens),
      extra: extraHeadersArb,
      body: bodyArb,
      chunked: fc.boolean(),
    })
    .map(
      ({ extra, headers, ...rest }): Sent => ({
        ...rest,
        headers: { ...extra, ...headers } as Record<string, string | string[]>,
      }),
    )

/**
 * A request a real client could make to a real route (JSON with Accept: application/json, or a form
 * from our own origin, a live or dead session now and then) with fuzzed fields, so the handlers
 * behind the parsers and the cross-origin guard get fuzzed too.
 */
const coherentRequestArb = (own: string, liveTokens: () => string[]) =>
  fc
    .record({
      target: fc.oneof(
        { arbitrary: fc.constantFrom(...POST_KEYS), weight: 6 },
        fc.constantFrom(...ROUTE_KEYS).chain((key) => {
          const param = /\{(\w+)\}/.exec(key)?.[1]
          if (!param) return fc.constant(key)
          const known =
            param === 'username'
              ? fc.oneof(fc.constantFrom(...ACCOUNTS), fc.mixedCase(fc.constantFrom(...ACCOUNTS)))
              : fc.constantFrom(...(PARAM_VALUES[param] ?? ['x']))
          return fc.oneof(known, segmentText).map((value) => key.replace(`{${param}}`, value))
        }),
      ),
      style: fc.constantFrom('json', 'form'),
      fields: fc.record(
        {
          username: usernameArb,
          password: passwordArb,
          current_password: passwordArb,
          new_password: passwordArb,
          session: fc.oneof(fc.constant('others'), fc.string({ maxLength: 70 })),
        },
        { requiredKeys: [] },
      ),
      session: fc.option(fc.tuple(tokenArb(liveTokens), fc.constantFrom('bearer', 'cookie', '__Host-cookie'))),
      originHeader: fc.constantFrom('own', 'none'),
      extra: extraHeadersArb,
    })
    .map(({ target, style, fields, session, originHeader, extra }): Sent => {
      const [method, path] = target.split(' ') as [string, string]
      const headers: Record<string, string> = { ...extra }
      if (originHeader === 'own') headers.origin = own
      if (session) {
        const [token, how] = session
        if (how === 'bearer') headers.authorization = `Bearer ${token}`
        else headers.cookie = `${how === 'cookie' ? 'session' : '__Host-session'}=${token}`
      }
      if (style === 'json') headers.accept = 'application/json'
      if (method === 'GET') return { method, path, headers }
      if (style === 'json') {
        headers['content-type'] = 'application/json'
        return { method, path, headers, body: Buffer.from(JSON.stringify(fields)) }
      }
      headers['content-type'] = 'application/x-www-form-urlencoded'
      const form = new URLSearchParams(
        Object.entries(fields).map(([key, value]): [string, string] => [key, formText(value).toWellFormed()]),
      )
      return { method, path, headers, body: Buffer.from(form.toString()) }
    })

/**
 * A form carries text only: a generated value as a browser would send it. String() throws for an
 * object whose generated `toString` is not a function ({ toString: 0 }); such a value goes as
 * "[object Object]", which is what the form would hold.
 */
function formText(value: unknown): string {
  try {
    return String(value)
  } catch {
    return Object.prototype.toString.call(value)
  }
}

const methodArb = fc.oneof(
  { arbitrary: fc.constantFrom('GET', 'POST'), weight: 8 },
  fc.constantFrom('HEAD', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'TRACE', 'PROPFIND'),
)

/** A path segment as a client may send it: printable ASCII (Node's HTTP parser refuses raw bytes above 0x7f itself), or %-encoded anything. */
const segmentText = fc.oneof(
  fc.string({ maxLength: 20, unit: fc.constantFrom(..."abcXYZ019._-~!$&'()*+,;=:@%".split('')) }),
  fc.string({ maxLength: 10, unit: 'binary' }).map((text) => encodeURIComponent(text.toWellFormed())),
  fc.constantFrom(...words('%00 % %zz %E0%A4%A %C0%AE .. . %2e%2e ..%2f %2F %C3%A9 %FF'), encodeURIComponent(MARKER)),
)

const pathArb = fc
  .tuple(
    fc.oneof(
      {
        // every route of the table, its parameters filled with values that name something real
        arbitrary: fc.constantFrom(
          ...ROUTE_KEYS.map((key) =>
            key.split(' ')[1]!.replace(/\{(\w+)\}/, (_, param: string) => (PARAM_VALUES[param] ?? ACCOUNTS)[0]!),
          ),
        ),
        weight: 10,
      },
      { arbitrary: fc.oneof(fc.constantFrom(...ACCOUNTS), segmentText).map((name) => `/dashboard/${name}`), weight: 3 },
      segmentText.map((file) => `/static/${file}`),
      fc.constantFrom(
        ...words(`/static/../package.json /static/..%2fpackage.json /static/%2e%2e%2f%2e%2e%2fetc%2fpasswd
          /static/style.css%00.png /..%2f..%2fetc/passwd /%00 /% //login /login/ /LOGIN /login;x=1 /login%2f
          /dashboard/ /dashboard /dashboard/a/b /health/../login /static/ /favicon.ico /.env /admin /api/login *`),
      ),
      fc.array(segmentText, { minLength: 1, maxLength: 4 }).map((segments) => `/${segments.join('/')}`),
      fc.integer({ min: 1000, max: 4000 }).map((n) => `/${'a'.repeat(n)}`),
    ),
    fc.option(
      fc.oneof(
        fc.constantFrom(
          `username=${encodeURIComponent(MARKER)}`,
          'username=a&username=b',
          '__proto__[x]=1',
          '%',
          '=&=&',
          'username=%ff',
        ),
        fc
          .array(fc.tuple(segmentText, segmentText), { maxLength: 3 })
          .map((pairs) => pairs.map(([k, v]) => `${k}=${v}`).join('&')),
      ),
      { freq: 3 },
    ),
  )
  .map(([path, query]) => (query === null ? path : `${path}?${query}`))

/** The body's fields, whether it is JSON or a form (undefined for anything else). */
function fieldsOf(body: string | undefined): Record<string, unknown> | undefined {
  if (!body) return undefined
  try {
    const value: unknown = JSON.parse(body)
    return value !== null && typeof value === 'object' ? (value as Record<string, unknown>) : undefined
  } catch {
    return { ...parseQuery(body) }
  }
}

/**
 * The passwords a request sent in password fields: no answer may show them (pages keep what was
 * typed, never a password). Values also sent elsewhere (as a username, in the path) may be echoed.
 */
function passwordsSent(body: string | undefined, path: string): string[] {
  const fields = fieldsOf(body) ?? {}
  const secret = new Set(['password', 'current_password', 'new_password'])
  const elsewhere = Object.entries(fields)
    .filter(([key]) => !secret.has(key))
    .flatMap(([, value]) => [value].flat())
  return Object.entries(fields)
    .filter(([key]) => secret.has(key))
    .flatMap(([, value]) => [value].flat())
    .filter((value): value is string => typeof value === 'string' && value.length >= 8 && /^[\w ]+$/.test(value))
    .filter(
      (value) =>
        !elsewhere.some((other) => typeof other === 'string' && other.includes(value)) && !path.includes(value),
    )
}

/** Counts of answers by status: printed so whoever tunes the arbitraries sees what they reach. */
function tally() {
  const counts = new Map<number, number>()
  return {
    add: (status: number) => void counts.set(status, (counts.get(status) ?? 0) + 1),
    print: (label: string) => console.info(`fuzz statuses (${label})`, JSON.stringify(Object.fromEntries(counts))),
  }
}

// ---------------------------------------------------------------------------------------------

describe('fuzzing every route', () => {
  let service: TestService
  let secrets: string[]
  /** Tokens of sessions that were live when made (logouts and password changes end some). */
  const tokens: string[] = []
  let consoleErrors: ReturnType<typeof vi.spyOn>

  beforeAll(async () => {
    // a trusted proxy (loopback) so X-Forwarded-For / -Proto garbage reaches the client identification too
    service = await startService({ env: { TRUST_PROXY: 'loopback' }, captureLogs: true })
    secrets = [service.runtime.jwtSecret]
    const http = client(service.baseUrl)
    for (const [i, username] of ACCOUNTS.entries()) {
      expect((await http.postJson('/register', { username, password: PASSWORDS[i] })).status).toBe(201)
      const login = await http.postJson('/login', { username, password: PASSWORDS[i] })
      expect(login.status).toBe(200)
      tokens.push(login.json.access_token)
    }
    // one revoked token; and the fingerprint must see a login's new session row, or it guards nothing
    const before = await rowsFingerprint()
    const login = await http.postJson('/login', { username: ACCOUNTS[0], password: PASSWORDS[0] })
    expect(await rowsFingerprint()).not.toBe(before)
    expect(
      (
        await http.call('/logout', {
          method: 'POST',
          bearer: login.json.access_token,
          headers: { accept: 'application/json' },
        })
      ).status,
    ).toBe(204)
    tokens.push(login.json.access_token)
    // the adapter's last-resort catch writes here (a bug if it ever runs)
    consoleErrors = vi.spyOn(console, 'error')
  })
  afterAll(async () => {
    consoleErrors?.mockRestore()
    await service?.stop()
  })

  /** A fingerprint of every row of users and sessions: changes when any column of any row does. */
  async function rowsFingerprint(): Promise<string> {
    const { fingerprint } = await service.runtime.db.one(
      `SELECT (SELECT md5(coalesce(string_agg(u::text, '|' ORDER BY u.id), '')) FROM users u)
           || (SELECT md5(coalesce(string_agg(s::text, '|' ORDER BY s.id), '')) FROM sessions s) AS fingerprint`,
    )
    return fingerprint as string
  }

  it(
    'answers any request over HTTP without a 5xx, with safety headers and contract problems, changing no row on refusal',
    async () => {
      const ownOrigin = service.baseUrl
      const live = () => tokens
      const request = fc.oneof(
        { arbitrary: coherentRequestArb(ownOrigin, live), weight: 1 },
        { arbitrary: chaoticRequestArb(ownOrigin, live), weight: 1 },
      )
      const statuses = tally()
      await fc.assert(
        fc.asyncProperty(request, async (sent) => {
          const { method, path } = sent
          const before = await rowsFingerprint()
          const answer = await send(service.baseUrl, sent)
          statuses.add(answer.status)
          expectSafeAnswer(
            { ...answer, headers: toHeaders(answer.headers) },
            { head: method === 'HEAD', secrets: [...secrets, ...passwordsSent(sent.body?.toString(), path)] },
          )
          if (answer.status >= 400) expect(await rowsFingerprint(), 'no row changed by a refused request').toBe(before)
          // a fresh live token now and then, so later runs reach the signed-in paths
          if (answer.status === 200 && /^\/login\b/.test(path) && answer.text.includes('access_token')) {
            tokens.push(JSON.parse(answer.text).access_token)
          }
        }),
        params(RUNS),
      )
      expect(consoleErrors).not.toHaveBeenCalled()
      statuses.print('HTTP')
    },
    FUZZ_TIMEOUT_MS,
  )

  it(
    'invokes every Lambda handler with arbitrary API Gateway v2 events: never throws, never a 5xx',
    async () => {
      const handlers = new Map<string, (event: never, context: never) => Promise<unknown>>()
      for (const name of FUNCTION_NAMES)
        handlers.set(name, ((await import(`#functions/${name}.ts`)) as { handler: never }).handler)

      const garbage = fc.string({ maxLength: 60, unit: 'binary' })
      const event = fc.record({
        name: fc.constantFrom(...FUNCTION_NAMES),
        method: fc.oneof(fc.constantFrom('GET', 'POST', 'HEAD', 'PUT', 'OPTIONS', 'get', ''), garbage),
        path: fc.oneof(pathArb, garbage),
        sourceIp: fc.oneof(
          fc.constantFrom(
            '203.0.113.7',
            '',
            'garbage',
            '::1',
            '999.1.1.1',
            '\u0000',
            'a'.repeat(1000),
            '::ffff:127.0.0.1',
            'fe80::1%eth0',
            '1.2.3.4, 5.6.7.8',
          ),
          garbage,
        ),
        local: fc.boolean(),
        headers: fc.option(
          fc
            .tuple(
              // the same headers as over HTTP (API Gateway lower-cases names), plus any name and any text
              headersArb(OWN_ORIGIN, () => tokens),
              fc.dictionary(
                fc.oneof(
                  fc.constantFrom(
                    'Content-Type',
                    'Authorization',
                    'content-length',
                    'Cookie',
                    '__proto__',
                    'constructor',
                  ),
                  garbage,
                ),
                fc.oneof(contentTypeArb, fc.constantFrom('99999999', '-1', 'NaN', '1e3', ''), garbage),
                { maxKeys: 3 },
              ),
            )
            .map(
              ([known, odd]): Record<string, string> => ({
                ...odd,
                // API Gateway joins a repeated header's values with commas
                ...Object.fromEntries(Object.entries(known).map(([name, value]) => [name, [value].flat().join(',')])),
              }),
            ),
          { freq: 8 },
        ),
        cookies: fc.option(
          fc.array(
            fc.oneof(
              tokenArb(() => tokens).map((t) => `session=${t}`),
              fc.constantFrom('=', ';;', 'session', '__Host-session=', 'notice=registered'),
              garbage,
            ),
            { maxLength: 4 },
          ),
        ),
        body: fc.option(fc.oneof({ arbitrary: bodyArb.map((b) => b?.toString()), weight: 4 }, garbage)),
        isBase64Encoded: fc.boolean(),
        pathParameters: fc.option(
          fc.dictionary(fc.constantFrom('username', 'file', '__proto__', 'x'), garbage, { maxKeys: 2 }),
        ),
        query: fc.option(fc.dictionary(fc.constantFrom('username', '__proto__', 'x'), garbage, { maxKeys: 2 })),
      })

      const statuses = tally()
      await fc.assert(
        fc.asyncProperty(event, async (input) => {
          const e: APIGatewayProxyEventV2 = apiGatewayEvent({
            method: input.method,
            path: input.path,
            sourceIp: input.sourceIp,
          })
          if (input.local) e.requestContext.apiId = LOCAL_API_ID
          ;(e as { headers?: unknown }).headers = input.headers === null ? undefined : input.headers
          e.cookies = input.cookies ?? undefined
          e.body = input.body ?? undefined
          e.isBase64Encoded = input.isBase64Encoded
          e.pathParameters = input.pathParameters ?? undefined
          e.queryStringParameters = input.query ?? undefined

          // the handler replaces event.body with what it parsed: keep what was sent
          const sentBody = input.isBase64Encoded ? Buffer.from(e.body ?? '', 'base64').toString() : e.body
          const sentPath = `${e.rawPath}?${e.rawQueryString}`
          const before = await rowsFingerprint()
          const result = (await handlers.get(input.name)!(e as never, lambdaContext(input.name) as never)) as {
            statusCode?: number
            headers?: Record<string, unknown>
            body?: string
            isBase64Encoded?: boolean
          }
          const status = result.statusCode ?? 200
          statuses.add(status)
          const text =
            result.body === undefined
              ? ''
              : result.isBase64Encoded
                ? Buffer.from(result.body, 'base64').toString()
                : result.body
          expectSafeAnswer(
            { status, headers: toHeaders(result.headers ?? {}), text },
            { head: false, secrets: [...secrets, ...passwordsSent(sentBody, sentPath)] },
          )
          if (status >= 400) expect(await rowsFingerprint(), 'no row changed by a refused event').toBe(before)
        }),
        params(LAMBDA_RUNS),
      )
      statuses.print('Lambda')
    },
    FUZZ_TIMEOUT_MS,
  )

  it('still answers /health after the fuzzing, and logged nothing at error level', async () => {
    const health = await client(service.baseUrl).getJson('/health')
    expect(health.status).toBe(200)
    expect(health.json).toEqual({ status: 'ok', database: 'ok' })
    const errors = service.logs().filter((line) => Number(line.level) >= 50)
    expect(errors, JSON.stringify(errors.slice(0, 3))).toEqual([])
  })
})
