// The OpenAPI 3.1 document, made from the route modules' specs (lib/http/route-spec.ts) and the
// contract's problem codes (lib/problem.ts): nothing of it is written by hand twice, and it is built
// in memory, so the service ships no document beside its code. Zod's own converter turns the
// schemas that validate and serialise into the JSON Schema (2020-12) OpenAPI 3.1 uses.
import * as z from 'zod'
import { PROBLEMS, problemTypeUri, type ProblemCode } from '../problem.ts'
import { inputSchema, type DocumentedHeader, type OwnHeader, type ResponseSpec, type RouteSpec } from './route-spec.ts'

const VERSION = '0.1.0'
const HTML = { schema: { $ref: '#/components/schemas/Html' } }
const ref = (kind: string, name: string) => ({ $ref: `#/components/${kind}/${name}` })
const pascal = (code: string) => code.replace(/(^|_)(\w)/g, (_, __, letter: string) => letter.toUpperCase())

/** JSON Schema of a zod schema, inline (OpenAPI 3.1 schema objects are JSON Schema 2020-12). */
export function jsonSchemaOf(schema: z.ZodType, io: 'input' | 'output' = 'output'): Record<string, unknown> {
  const { $schema: _, ...json } = z.toJSONSchema(schema, { io, unrepresentable: 'any' }) as Record<string, unknown>
  return json
}

const HEADERS: Record<DocumentedHeader, object> = {
  Location: ref('headers', 'Location'),
  'Set-Cookie': ref('headers', 'SetCookie'),
  'Retry-After': ref('headers', 'RetryAfter'),
  'Cache-Control': { required: true, schema: { type: 'string' } },
}

// the chain's own refusals (lib/http/route.ts): every route checks Host; a POST its body and origin
const EVERY_ROUTE: ProblemCode[] = ['misdirected_request']
const EVERY_POST: ProblemCode[] = [
  'validation_failed',
  'cross_origin_rejected',
  'payload_too_large',
  'unsupported_media_type',
]
const SIGNED_IN: ProblemCode[] = ['unauthorized', 'session_expired']
const PROBLEM_HEADERS: Partial<Record<ProblemCode, Record<string, object>>> = {
  rate_limited: { 'Retry-After': ref('headers', 'RetryAfter') },
  service_unavailable: { 'Retry-After': ref('headers', 'RetryAfter') },
  method_not_allowed: { Allow: ref('headers', 'Allow') },
}

/** The operation's name: 'GET /dashboard/{username}' → getDashboardUsername. */
export const operationId = (key: string) => {
  const [method, path] = key.split(' ') as [string, string]
  const words = path.split(/[^A-Za-z0-9]+/).filter(Boolean)
  return method.toLowerCase() + (words.length ? words.map((w) => w[0]!.toUpperCase() + w.slice(1)).join('') : 'Index')
}

const headerEntry = (header: DocumentedHeader | OwnHeader): [string, object] =>
  typeof header === 'string'
    ? [header, HEADERS[header]]
    : [header.name, { required: !header.optional, description: header.description, schema: { type: 'string' } }]

function successResponse(response: ResponseSpec): object {
  const content: Record<string, object> = {}
  if (response.json) content['application/json'] = { schema: jsonSchemaOf(response.json) }
  if (response.html) content['text/html'] = HTML
  for (const [mediaType, schema] of Object.entries(response.content ?? {})) content[mediaType] = { schema }
  return {
    description: response.description,
    ...(response.headers?.length ? { headers: Object.fromEntries(response.headers.map(headerEntry)) } : {}),
    ...(Object.keys(content).length ? { content } : {}),
  }
}

/** The response for the codes a route can answer with one status: the code's own, or a oneOf of them. */
function problemResponse(codes: ProblemCode[]): object {
  if (codes.length === 1) return ref('responses', pascal(codes[0]!))
  return {
    description: codes.map((code) => `\`${code}\`: ${PROBLEMS[code][2]}`).join(' Or '),
    headers: Object.assign({}, ...codes.map((code) => PROBLEM_HEADERS[code] ?? {})),
    content: {
      'application/problem+json': { schema: { oneOf: codes.map((code) => ref('schemas', `${pascal(code)}Problem`)) } },
      'text/html': HTML,
    },
  }
}

function operation(key: string, spec: RouteSpec, rules: { passwordMinLength: number }) {
  const method = key.split(' ')[0]!
  const problems = new Set<ProblemCode>([
    ...(method === 'POST' ? EVERY_POST : []),
    ...(spec.auth === 'required' ? SIGNED_IN : []),
    ...(spec.auth === 'required' && !spec.beforeEnrolment ? ['second_factor_enrolment_required' as const] : []),
    ...(spec.problems ?? []),
    ...EVERY_ROUTE,
  ])
  const responses: Record<string, object> = {}
  for (const [status, response] of Object.entries(spec.responses)) responses[status] = successResponse(response)
  if (spec.auth === 'required' && spec.answers === 'page' && !responses['303']) {
    responses['303'] = ref('responses', 'SignInFirst')
  }
  const byStatus = Map.groupBy(problems, (code) => PROBLEMS[code][0])
  for (const [status, codes] of byStatus) responses[String(status)] ??= problemResponse(codes)
  const schema = inputSchema(spec, rules)
  const body = schema ? jsonSchemaOf(schema, 'input') : { type: 'object', description: 'Nothing is read from it.' }
  const sorted = Object.fromEntries(Object.entries(responses).sort(([a], [b]) => Number(a) - Number(b)))
  return {
    tags: [spec.tag],
    operationId: operationId(key),
    summary: spec.summary,
    ...(spec.description ? { description: spec.description } : {}),
    ...(spec.auth ? { security: [...(spec.auth === 'optional' ? [{}] : []), { bearer: [] }, { cookie: [] }] } : {}),
    ...(spec.params
      ? {
          parameters: Object.entries(spec.params).map(([name, param]) => ({
            name,
            in: 'path',
            required: true,
            ...(param.description ? { description: param.description } : {}),
            schema: param.schema,
          })),
        }
      : {}),
    ...(method === 'POST'
      ? {
          requestBody: {
            required: schema !== undefined,
            content: { 'application/json': { schema: body }, 'application/x-www-form-urlencoded': { schema: body } },
          },
        }
      : {}),
    responses: sorted,
  }
}

function problemComponents() {
  const schemas: Record<string, object> = {
    ProblemCode: { type: 'string', enum: Object.keys(PROBLEMS) },
    FieldError: {
      type: 'object',
      required: ['field', 'message'],
      properties: {
        field: { type: 'string', description: 'The request field, or `body`.' },
        message: { type: 'string' },
      },
      additionalProperties: false,
    },
    Problem: {
      type: 'object',
      description: 'RFC 9457 problem details. `detail` is never sent on 5xx.',
      required: ['type', 'title', 'status', 'code'],
      properties: {
        type: { type: 'string', format: 'uri-reference', description: '`/problems/<code>`: the service explains it.' },
        title: { type: 'string' },
        status: { type: 'integer', minimum: 400, maximum: 599 },
        detail: { type: 'string' },
        code: ref('schemas', 'ProblemCode'),
        errors: { type: 'array', minItems: 1, items: ref('schemas', 'FieldError') },
        second_factor: {
          type: 'object',
          description: 'Only with `second_factor_required`: what the second step (POST /login/second-factor) needs.',
          required: ['pending', 'methods', 'expires_in'],
          properties: {
            pending: { type: 'string', description: 'The pending sign-in: send it back as `pending`. Single use.' },
            methods: { type: 'array', items: { type: 'string', enum: ['totp', 'recovery', 'passkey'] } },
            expires_in: { type: 'integer', minimum: 1, description: 'Seconds the pending sign-in lives.' },
          },
          additionalProperties: false,
        },
      },
      additionalProperties: false,
    },
  }
  const responses: Record<string, object> = {
    SignInFirst: {
      description:
        'HTML without a valid session: to `/`, clearing the session cookie; a session that must set up a ' +
        'second factor first (REQUIRE_SECOND_FACTOR): to `/security`.',
      headers: { Location: ref('headers', 'Location'), 'Set-Cookie': ref('headers', 'SetCookie') },
    },
  }
  for (const [code, [status, title, description]] of Object.entries(PROBLEMS)) {
    const name = pascal(code)
    schemas[`${name}Problem`] = {
      allOf: [ref('schemas', 'Problem')],
      properties: {
        type: { const: problemTypeUri(code as ProblemCode) },
        title: { const: title },
        status: { const: status },
        code: { const: code },
      },
    }
    responses[name] = {
      description: `\`${code}\`: ${description}`,
      ...(PROBLEM_HEADERS[code as ProblemCode] ? { headers: PROBLEM_HEADERS[code as ProblemCode] } : {}),
      content: { 'application/problem+json': { schema: ref('schemas', `${name}Problem`) }, 'text/html': HTML },
    }
  }
  return { schemas, responses }
}

const DESCRIPTION = `The JSON API of gateway-auth, served by the service itself at \`GET /openapi.json\`, made from \
the route modules (functions/). The prose reference is docs/api.md.

**One set of routes for two kinds of client.** A request with a JSON body is answered in JSON; a form post \
(\`application/x-www-form-urlencoded\`) gets an HTML page or a \`303\` redirect; a request without a body gets JSON \
when \`Accept\` prefers \`application/json\`, else HTML.

**Errors** are RFC 9457 problem details (\`application/problem+json\`) whose \`code\` is one of a closed list \
(\`ProblemCode\`). A path not listed here answers \`404 not_found\` (response \`NotFound\`); a listed path \
asked with another method \`405 method_not_allowed\` with \`Allow\` (response \`MethodNotAllowed\`). \
\`HEAD\` is answered wherever \`GET\` is.

**Sessions** are HS256 JWTs backed by a session row: send the \`access_token\` of \`POST /login\` as \
\`Authorization: Bearer <token>\`; browsers carry it in the \`session\` cookie (\`__Host-session\` over HTTPS).`

/** The OpenAPI 3.1 document of the routes `specs` describe; input limits as `rules` sets them. */
export function openApiDocument(specs: readonly RouteSpec[], rules: { passwordMinLength: number }) {
  const paths: Record<string, Record<string, object>> = {}
  for (const spec of specs) {
    for (const key of spec.keys) {
      const [method, path] = key.split(' ') as [string, string]
      paths[path] ??= {}
      paths[path][method.toLowerCase()] = operation(key, spec, rules)
    }
  }
  const problems = problemComponents()
  return {
    openapi: '3.1.1',
    jsonSchemaDialect: 'https://spec.openapis.org/oas/3.1/dialect/base',
    info: {
      title: 'gateway-auth',
      version: VERSION,
      summary: 'Sign-in and registration for a LoRaWAN gateway: JSON for programs, pages for browsers.',
      description: DESCRIPTION,
    },
    tags: [
      { name: 'account', description: 'Registration, sign-in, password, sign-out' },
      { name: 'session', description: 'What a signed-in user sees and ends' },
      { name: 'service', description: 'Health, assets and this document' },
      {
        name: 'front-door',
        description: "Forward-auth for the reverse proxy in front of the gateway's apps (docs/front-door.md)",
      },
    ],
    paths,
    components: {
      securitySchemes: {
        bearer: {
          type: 'http',
          scheme: 'bearer',
          bearerFormat: 'JWT',
          description: 'The access_token of POST /login.',
        },
        cookie: {
          type: 'apiKey',
          in: 'cookie',
          name: 'session',
          description: '`session`, or `__Host-session` over HTTPS.',
        },
      },
      headers: {
        Location: { required: true, description: 'A path on this service.', schema: { type: 'string', pattern: '^/' } },
        SetCookie: {
          description:
            'The session cookie, or its removal (`Max-Age=0`), and a short-lived `notice` for the next page.',
          schema: { type: 'string' },
        },
        RetryAfter: {
          required: true,
          description: 'Seconds to wait.',
          schema: { type: 'string', pattern: '^[1-9][0-9]*$' },
        },
        Allow: {
          required: true,
          description: 'The methods this path answers to (`HEAD` wherever `GET` is).',
          schema: { type: 'string', pattern: '^[A-Z]+(, [A-Z]+)*$' },
        },
      },
      responses: problems.responses,
      schemas: { Html: { type: 'string', description: 'An HTML page.' }, ...problems.schemas },
    },
  }
}
