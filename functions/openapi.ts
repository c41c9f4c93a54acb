// GET /openapi.json: the OpenAPI 3.1 description of the API, made from the route modules' specs
// when first asked (lib/http/openapi.ts), for programs and tools on the gateway. Always JSON.
import { defineRoute, route } from '#lib/http/route.ts'
import { FUNCTION_NAMES } from '#lib/http/routes.ts'
import { openApiDocument } from '#lib/http/openapi.ts'
import type { RouteSpec } from '#lib/http/route-spec.ts'

export const spec = defineRoute({
  keys: ['GET /openapi.json'],
  summary: 'This document',
  tag: 'service',
  answers: 'json',
  responses: {
    200: {
      description: 'The OpenAPI 3.1 document, always JSON.',
      content: {
        'application/json': {
          type: 'object',
          required: ['openapi', 'info', 'paths'],
          properties: { openapi: { type: 'string', pattern: '^3\\.1\\.' } },
        },
      },
    },
  },
  problems: ['internal_error', 'service_unavailable'],
})

/** The specs of every route of the table, read from their modules (the Lambda bundle carries them all). */
export async function routeSpecs(): Promise<RouteSpec[]> {
  const modules = await Promise.all(
    FUNCTION_NAMES.map((name) => import(`./${name}.ts`) as Promise<{ spec: RouteSpec }>),
  )
  return modules.map((module) => module.spec).filter((routeSpec) => routeSpec.keys.length > 0)
}

// serialised once per configured password rule: the document never changes while the process runs
const bodies = new Map<number, Promise<string>>()

export const handler = route(spec, async (_event, { config }) => {
  const minLength = config.password.minLength
  let body = bodies.get(minLength)
  if (!body) {
    body = routeSpecs().then((specs) => JSON.stringify(openApiDocument(specs, { passwordMinLength: minLength })))
    bodies.set(minLength, body)
    // a failed build is not kept: the next request tries again
    body.catch(() => bodies.delete(minLength))
  }
  return { statusCode: 200, headers: { 'content-type': 'application/json' }, body: await body }
})
