// Everything no route answers: 404, or 405 with Allow when the path exists under other methods.
// On Lambda this is the $default route.
import { defineRoute, route } from '#lib/http/route.ts'
import { allowedMethods } from '#lib/http/routes.ts'
import { Problem } from '#lib/problem.ts'

// no route keys: it is no row of the route table but what answers when none matches ($default)
export const spec = defineRoute({
  keys: [],
  summary: 'Everything no route answers: 404, or 405 with Allow',
  tag: 'service',
  answers: 'page',
  responses: {},
  problems: ['not_found', 'method_not_allowed'],
})

export const handler = route(spec, async (event) => {
  const allowed = allowedMethods(event.rawPath)
  if (allowed) {
    throw new Problem('method_not_allowed', {
      detail: `${event.requestContext.http.method.slice(0, 16)} is not allowed here; use ${allowed.join(' or ')}.`,
      headers: { allow: allowed.join(', ') },
    })
  }
  throw new Problem('not_found', { detail: 'There is nothing at this address.' })
})
