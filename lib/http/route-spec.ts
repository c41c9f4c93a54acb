// What a route module declares beside its handler: the route keys it serves, who may call it, what
// it reads and what it answers. The one description of a route: the route table
// (lib/http/route-table.ts, written by `npm run docs`), the body validation of the chain
// (lib/http/route.ts), the OpenAPI document (lib/http/openapi.ts) and the docs' route tables are
// all made from it, so the schema that validates is the schema that is documented.
import type * as z from 'zod'
import type { ProblemCode } from '../problem.ts'
import type { PageName } from './event.ts'

/** An API Gateway route key: 'GET /dashboard/{username}'. */
export type RouteKey = `${'GET' | 'POST'} /${string}`

/** What an input schema may depend on: the configured rules, the documented defaults in the OpenAPI document. */
export interface InputRules {
  readonly passwordMinLength: number
}

/** A header a response documents, by name (lib/http/openapi.ts describes each). */
export type DocumentedHeader = 'Location' | 'Set-Cookie' | 'Retry-After' | 'Cache-Control'

/** A header only one kind of route sends (forward-auth's Remote-User…), described where it is sent. */
export interface OwnHeader {
  readonly name: string
  readonly description: string
  /** Sent with only some answers of its status (documented in `description`); required otherwise. */
  readonly optional?: boolean
}

export interface ResponseSpec {
  readonly description: string
  /** The JSON body's schema (its output type is what the handler serialises). */
  readonly json?: z.ZodType
  /** Browsers get an HTML page with this status. */
  readonly html?: boolean
  /** Other media types, by JSON Schema (static files, the OpenAPI document). */
  readonly content?: Readonly<Record<string, object>>
  readonly headers?: readonly (DocumentedHeader | OwnHeader)[]
}

export interface RouteSpec {
  /** The route keys the module serves (several keys may share one module). */
  readonly keys: readonly RouteKey[]
  /** One line: what the route does (the docs' route tables and the OpenAPI summary). */
  readonly summary: string
  readonly description?: string
  readonly tag: 'account' | 'session' | 'service' | 'front-door'
  /** 'required': no valid session → unauthorized / session_expired. 'optional': event.auth may be unset. */
  readonly auth?: 'required' | 'optional'
  /**
   * With auth 'required': also serves a session whose account must still set up a second factor
   * (REQUIRE_SECOND_FACTOR): the security page and its forms. Every other route refuses such a session.
   */
  readonly beforeEnrolment?: boolean
  /** The proxy's question (forward-auth): the session cookie before a bearer token (Authorization is the app's). */
  readonly forwardAuth?: boolean
  /** 'page': HTML for browsers, JSON for programs. 'json': JSON whatever Accept says. 'file': a static file. */
  readonly answers: 'page' | 'json' | 'file'
  /** The page an HTML error re-renders (keeping what was typed). */
  readonly page?: PageName
  /** The body's schema: the chain parses the body with it (400 validation_failed) into event.input. */
  readonly input?: z.ZodType | ((rules: InputRules) => z.ZodType)
  /** Path parameters, by name: their description and JSON Schema. */
  readonly params?: Readonly<Record<string, { description?: string; schema: object }>>
  /** Answers that are not problems, by status. */
  readonly responses: Readonly<Record<number, ResponseSpec>>
  /**
   * Problem codes the handler itself throws, and internal_error / service_unavailable where it
   * needs the database; the chain's own (misdirected_request; for a POST the body's and the
   * cross-origin check's; unauthorized / session_expired for auth 'required') are added by the
   * document.
   */
  readonly problems?: readonly ProblemCode[]
}

/** Declares a route module's spec (typed, unchanged). */
export const defineRoute = <const S extends RouteSpec>(spec: S): S => spec

/** The input type a spec's schema produces (unknown without a schema). */
export type InputOf<S extends RouteSpec> = S['input'] extends z.ZodType
  ? z.output<S['input']>
  : S['input'] extends (rules: InputRules) => z.ZodType
    ? z.output<ReturnType<S['input']>>
    : undefined

const schemas = new WeakMap<(rules: InputRules) => z.ZodType, Map<number, z.ZodType>>()

/** The spec's input schema under `rules`, built once per rule set. */
export function inputSchema(spec: RouteSpec, rules: InputRules): z.ZodType | undefined {
  const input = spec.input
  if (typeof input !== 'function') return input
  let built = schemas.get(input)
  if (!built) schemas.set(input, (built = new Map()))
  let schema = built.get(rules.passwordMinLength)
  if (!schema) built.set(rules.passwordMinLength, (schema = input(rules)))
  return schema
}
