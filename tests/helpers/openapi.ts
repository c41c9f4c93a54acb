// The OpenAPI document (made from the route modules' specs, as GET /openapi.json serves it) as a checker of real responses: ajv (JSON Schema
// 2020-12, the dialect of OpenAPI 3.1) with ajv-formats validates each body against the schema the
// document gives for its operation, status and media type, and each documented header. It also
// records which (operation, status) pairs were seen, so a test can require every one of them.
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js'
import ajvFormats from 'ajv-formats'
import { expect } from 'vitest'

import { openApiDocument } from '#lib/http/openapi.ts'
import { defaultValue } from '#lib/platform/config.ts'
import { routeSpecs } from '#functions/openapi.ts'

/** The rules the tests' services run with (PASSWORD_MIN_LENGTH unset). */
export const DOCUMENT_RULES = { passwordMinLength: defaultValue('PASSWORD_MIN_LENGTH') as number }
export const openapi = JSON.parse(
  JSON.stringify(openApiDocument(await routeSpecs(), DOCUMENT_RULES)),
) as OpenApiDocument

export interface OpenApiDocument {
  openapi: string
  paths: Record<string, Record<string, Operation>>
  components: { responses: Record<string, ResponseObject>; headers: Record<string, HeaderObject> } & Record<
    string,
    unknown
  >
}
interface Ref {
  $ref: string
}
interface Operation {
  operationId: string
  requestBody?: { content: Record<string, { schema: unknown }> }
  responses: Record<string, ResponseObject | Ref>
}
interface ResponseObject {
  description: string
  headers?: Record<string, HeaderObject | Ref>
  content?: Record<string, { schema: unknown }>
}
interface HeaderObject {
  required?: boolean
  schema: unknown
}

export const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const

/** A response as the tests see it (tests/helpers/http.ts Reply, or rawRequest's answer turned into one). */
export interface SeenResponse {
  status: number
  headers: Headers
  contentType: string
  text: string
}

const DOCUMENT_ID = 'openapi.json'
const ajv = new Ajv2020({
  allErrors: true,
  strict: true,
  // OpenAPI documents routinely write `properties` beside `allOf` without repeating `type`, and
  // `not: { required: [...] }` for "never this field": both are plain JSON Schema
  strictTypes: false,
  strictRequired: false,
})
// a CommonJS module: its plugin is module.exports.default under Node's ESM interop
ajvFormats.default(ajv)
// the document's top-level members are OpenAPI's, not JSON Schema keywords; refs point into them
ajv.addVocabulary('openapi info jsonSchemaDialect servers tags paths components security webhooks'.split(' '))
ajv.addSchema(openapi, DOCUMENT_ID)

const pointer = (...parts: string[]) =>
  parts.map((part) => `/${encodeURIComponent(part.replaceAll('~', '~0').replaceAll('/', '~1'))}`).join('')

/** The compiled validator of the schema at `parts` (a JSON pointer into the document). */
export function schemaAt(...parts: string[]): ValidateFunction {
  const validate = ajv.getSchema(`${DOCUMENT_ID}#${pointer(...parts)}`)
  if (!validate) throw new Error(`no schema at ${pointer(...parts)}`)
  return validate
}

/** Follows a local $ref: the object and its location in the document. */
function deref<T>(value: T | Ref, location: string[]): { value: T; location: string[] } {
  if (value && typeof value === 'object' && '$ref' in value) {
    const parts = value.$ref
      .replace(/^#\//, '')
      .split('/')
      .map((p) => p.replaceAll('~1', '/').replaceAll('~0', '~'))
    let target: any = openapi
    for (const part of parts) target = target?.[part]
    if (!target) throw new Error(`dangling $ref ${value.$ref}`)
    return deref<T>(target, parts)
  }
  return { value: value as T, location }
}

const errorsOf = (validate: ValidateFunction) => ajv.errorsText(validate.errors, { separator: '\n  ' })

/** Operation key as the route table and API Gateway write it: 'GET /dashboard/{username}'. */
export const operationKey = (method: string, template: string) => `${method.toUpperCase()} ${template}`

/** Every operation of the document, by key. */
export function documentedOperations(): string[] {
  return Object.entries(openapi.paths).flatMap(([template, item]) =>
    Object.keys(item)
      .filter((m) => (HTTP_METHODS as readonly string[]).includes(m))
      .map((m) => operationKey(m, template)),
  )
}

/** (operation, status) pairs seen so far, and the responses the document has for each operation. */
export const seen = new Set<string>()

export function documentedResponses(): string[] {
  return Object.entries(openapi.paths).flatMap(([template, item]) =>
    Object.entries(item)
      .filter(([m]) => (HTTP_METHODS as readonly string[]).includes(m))
      .flatMap(([m, op]) => Object.keys(op.responses).map((status) => `${operationKey(m, template)} ${status}`)),
  )
}

function checkAgainst(response: ResponseObject, location: string[], reply: SeenResponse, label: string): void {
  for (const [name, header] of Object.entries(response.headers ?? {})) {
    const { value, location: at } = deref<HeaderObject>(header, [...location, 'headers', name])
    const actual =
      name.toLowerCase() === 'set-cookie' ? reply.headers.getSetCookie().join('\n') || null : reply.headers.get(name)
    if (actual === null) {
      expect(value.required ?? false, `${label}: header ${name} is required by the document`).toBe(false)
      continue
    }
    const validate = schemaAt(...at, 'schema')
    // a header is one string on the wire: each Set-Cookie line is checked on its own
    for (const one of name.toLowerCase() === 'set-cookie' ? actual.split('\n') : [actual]) {
      expect(validate(one), `${label}: header ${name}: ${one}\n  ${errorsOf(validate)}`).toBe(true)
    }
  }
  const content = response.content ?? {}
  if (Object.keys(content).length === 0) {
    expect(reply.text, `${label}: the document promises no body`).toBe('')
    return
  }
  const mediaType = reply.contentType.split(';')[0]!.trim().toLowerCase()
  expect(Object.keys(content), `${label}: media type ${mediaType} is documented`).toContain(mediaType)
  const validate = schemaAt(...location, 'content', mediaType, 'schema')
  const body = /json$/.test(mediaType) ? JSON.parse(reply.text) : reply.text
  expect(
    validate(body),
    `${label}: body does not match the document\n  ${errorsOf(validate)}\n  ${reply.text.slice(0, 500)}`,
  ).toBe(true)
}

/**
 * Checks a real response of `method template` against the document (its status is documented, the
 * body matches the schema of its media type, documented headers are present and well-formed) and
 * records it as seen.
 */
export function expectConforms(method: string, template: string, reply: SeenResponse): void {
  const operation = openapi.paths[template]?.[method.toLowerCase()]
  const label = `${operationKey(method, template)} → ${reply.status}`
  expect(operation, `${operationKey(method, template)} is in the document`).toBeDefined()
  const documented = operation!.responses[String(reply.status)]
  expect(documented, `${label} is a documented response (body: ${reply.text.slice(0, 300)})`).toBeDefined()
  const { value, location } = deref<ResponseObject>(documented!, [
    'paths',
    template,
    method.toLowerCase(),
    'responses',
    String(reply.status),
  ])
  checkAgainst(value, location, reply, label)
  seen.add(`${operationKey(method, template)} ${reply.status}`)
}

/** Checks a response against one of components.responses (404 and 405, which no operation lists). */
export function expectConformsToComponent(name: string, reply: SeenResponse, label: string): void {
  const response = openapi.components.responses[name]
  expect(response, `components.responses.${name}`).toBeDefined()
  checkAgainst(response!, ['components', 'responses', name], reply, label)
}

/** A request body the test sends is one the document describes (JSON or form). */
export function expectRequestConforms(method: string, template: string, mediaType: string, body: unknown): void {
  const operation = openapi.paths[template]?.[method.toLowerCase()]
  expect(
    operation?.requestBody?.content[mediaType],
    `${operationKey(method, template)} takes ${mediaType}`,
  ).toBeDefined()
  const validate = schemaAt('paths', template, method.toLowerCase(), 'requestBody', 'content', mediaType, 'schema')
  expect(validate(body), `${operationKey(method, template)} request: ${errorsOf(validate)}`).toBe(true)
}
