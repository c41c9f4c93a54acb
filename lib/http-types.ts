// The shapes a handler sees: an API Gateway HTTP API (payload 2.0) event, enriched by the
// middlewares in lib/http.ts, and the structured result Lambda and the Express adapter both return.
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda'
import type { Logger } from 'pino'
import type { SessionUser, Session } from './sessions.ts'
import type { Runtime } from './runtime.ts'

export type PageName = 'login' | 'register' | 'dashboard'

export interface Auth {
  readonly user: SessionUser
  readonly session: Session
  readonly token: string
}

export interface RouteEvent extends Omit<APIGatewayProxyEventV2, 'body'> {
  /** Raw string from API Gateway; after parsing, a plain object of the JSON or form fields. */
  body: unknown
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
  runtime: Runtime
  /** The page an HTML error re-renders. */
  page?: PageName
  /** Set by the authentication step on routes that use it. */
  auth?: Auth
}

export type RouteResult = APIGatewayProxyStructuredResultV2 & {
  statusCode: number
  headers?: Record<string, string>
}
