// route(): every handler is the same Middy chain, written once here in the order it runs.
//   before: headers → negotiation → request context → host check → [cross-origin guard] → admit body →
//           JSON parser → form parser → object body → [authentication] → [input schema]
//   after / onError (reverse): problem responder (registered last, so it answers first) →
//   security headers → cache policy.
// Middy's own middlewares do the parsing, negotiation and security headers; each step of ours is a
// file of its own in lib/http. What differs between routes comes from the route's spec, and so do
// the bracketed steps: a route that serves only GET has no POST's cross-origin check and runs the
// body steps only when a body came, one without `auth` reads no session, one without `input`
// validates nothing. A step a route does not carry costs its requests nothing (issue 17:
// forward-auth sits in front of every request of every protected app).
import middy, { type MiddlewareObj } from '@middy/core'
import httpHeaderNormalizer from '@middy/http-header-normalizer'
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
import { negotiateMediaType } from './negotiation.ts'

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

/**
 * A route takes a body unless all its keys are GET: a POST route, and not-found (no keys: it
 * answers any method, and a POST's body is refused before its 404 as on every POST).
 */
const takesBody = (spec: RouteSpec) => spec.keys.length === 0 || spec.keys.some((key) => key.startsWith('POST '))

type Step = MiddlewareObj<RouteEvent, RouteResult, Error, Context>
const bodySteps = (): Step[] => [admitBody(), jsonParser as Step, formParser as Step, requireObjectBody()]

/**
 * A GET-only route's body steps, run only when a body came anyway: the contract's 413, 415 and 400
 * hold for every request, and a GET without a body (nearly every one) pays for none of them.
 */
function bodyIfSent(): Step {
  const steps = bodySteps()
  return {
    before: async (request) => {
      if (!request.event.body) return
      for (const step of steps) await step.before?.(request)
    },
  }
}

/** The route's Lambda handler: `fn` inside the shared Middy chain, with the steps `spec` needs. */
export function route<const S extends RouteSpec>(spec: S, fn: RouteHandler<S>) {
  const chain = middy<RouteEvent, RouteResult, Error, Context>()
    .use(httpHeaderNormalizer())
    .use(negotiateMediaType())
    .use(requestContext(spec.page))
    .use(checkHost())
  if (takesBody(spec)) chain.use(rejectCrossOrigin()).use(bodySteps())
  else chain.use(bodyIfSent())
  if (spec.auth) {
    chain.use(authenticate(spec.auth, { forwardAuth: spec.forwardAuth, beforeEnrolment: spec.beforeEnrolment }))
  }
  if (spec.input) chain.use(validateInput(spec))
  return chain
    .use(noStoreByDefault())
    .use(securityHeaders())
    .use(problemResponder())
    .handler((event) => fn(event as EventOf<S>, contextOf(event)))
}
