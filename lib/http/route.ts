// route(): every handler is the same Middy chain, written once here in the order it runs.
//   before: headers → negotiation → request context → host check → cross-origin guard → admit body →
//           JSON parser → form parser → object body → authentication → input schema
//   after / onError (reverse): problem responder (registered last, so it answers first) →
//   security headers → cache policy.
// Middy's own middlewares do the parsing, negotiation and security headers; each step of ours is a
// file of its own in lib/http. What differs between routes comes from the route's spec.
import middy from '@middy/core'
import httpHeaderNormalizer from '@middy/http-header-normalizer'
import httpContentNegotiation from '@middy/http-content-negotiation'
import httpJsonBodyParser from '@middy/http-json-body-parser'
import httpUrlencodeBodyParser from '@middy/http-urlencode-body-parser'
import type { Context } from 'aws-lambda'
import type { Auth, RouteEvent, RouteResult } from './event.ts'
import type { InputOf, RouteSpec } from './route-spec.ts'
import { problemResponder } from './problem-response.ts'
import { authenticate } from './authenticate.ts'
import { admitBody, requireObjectBody } from './body.ts'
import { checkHost } from './host-check.ts'
import { rejectCrossOrigin } from './cross-origin.ts'
import { noStoreByDefault } from './cache-policy.ts'
import { securityHeaders } from './security-headers.ts'
import { contextOf, requestContext, type HandlerContext } from './request-context.ts'
import { validateInput } from './validate-input.ts'

export type { AuthenticatedEvent, RouteEvent, RouteResult } from './event.ts'
export type { HandlerContext } from './request-context.ts'
export { defineRoute } from './route-spec.ts'
export { MAX_BODY_BYTES } from './body.ts'

/** The event a route's handler sees: event.input typed by its schema, event.auth set when auth is required. */
export type EventOf<S extends RouteSpec> = RouteEvent & { input: InputOf<S> } & (S['auth'] extends 'required'
    ? { auth: Auth }
    : unknown)

export type RouteHandler<S extends RouteSpec> = (event: EventOf<S>, ctx: HandlerContext) => Promise<RouteResult>

// the parsers skip a body whose (normalised) Content-Type is not theirs: admitBody has already
// refused every other type
const jsonParser = httpJsonBodyParser({ disableContentTypeError: true })
const formParser = httpUrlencodeBodyParser({ disableContentTypeError: true })

/** The route's Lambda handler: `fn` inside the shared Middy chain, configured by `spec`. */
export function route<const S extends RouteSpec>(spec: S, fn: RouteHandler<S>) {
  return middy<RouteEvent, RouteResult, Error, Context>()
    .use(httpHeaderNormalizer())
    .use(
      httpContentNegotiation({
        parseCharsets: false,
        parseEncodings: false,
        parseLanguages: false,
        availableMediaTypes: ['text/html', 'application/json'],
        failOnMismatch: false,
      }),
    )
    .use(requestContext(spec.page))
    .use(checkHost())
    .use(rejectCrossOrigin())
    .use(admitBody())
    .use(jsonParser)
    .use(formParser)
    .use(requireObjectBody())
    .use(authenticate(spec.auth, { forwardAuth: spec.forwardAuth, beforeEnrolment: spec.beforeEnrolment }))
    .use(validateInput(spec))
    .use(noStoreByDefault())
    .use(securityHeaders())
    .use(problemResponder())
    .handler((event) => fn(event as EventOf<S>, contextOf(event)))
}
