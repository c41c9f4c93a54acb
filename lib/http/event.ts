// The shapes a handler sees: an API Gateway HTTP API (payload 2.0) event, enriched by the
// middlewares in route.ts, and the structured result Lambda and the Express adapter both return.
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda'
import type { Logger } from 'pino'
import type { Auth } from '../auth/sessions.ts'

export type { Auth } from '../auth/sessions.ts'

export type PageName = 'login' | 'register' | 'dashboard' | 'second-factor' | 'security'

export interface RouteEvent extends Omit<APIGatewayProxyEventV2, 'body'> {
  /** Raw string from API Gateway; after parsing, a plain object of the JSON or form fields. */
  body: unknown
  /** The body's media type, read once: application/json (and +json), the form type, another, or none. */
  mediaType: string | undefined
  /** Answer with HTML (a form post, or a browser's GET) rather than JSON. */
  wantsHtml: boolean
  /** The client's address: the socket's peer, or X-Forwarded-For from a trusted proxy. */
  clientIp: string
  /** The request reached us over HTTPS (directly or through a trusted proxy). */
  secure: boolean
  requestId: string
  /** The request's one clock: every expiry rule of this request reads it. */
  receivedAt: Date
  log: Logger
  /** The page an HTML error re-renders. */
  page?: PageName
  /** The request's cookies by name, parsed once (API Gateway's `cookies`, or the Cookie header). */
  cookieValues: Record<string, string | undefined>
  /** The body as the route's input schema parsed it (lib/http/validate-input.ts). */
  input?: unknown
  /** Set by the authentication step on routes that use it. */
  auth?: Auth
}

/** The event of a route declared with `auth: 'required'`: the session is always there. */
export interface AuthenticatedEvent extends RouteEvent {
  auth: Auth
}

export type RouteResult = APIGatewayProxyStructuredResultV2 & {
  statusCode: number
  headers?: Record<string, string>
}
