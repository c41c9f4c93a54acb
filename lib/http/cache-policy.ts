// Account pages and tokens must never sit in a shared cache: every answer is no-store unless the
// route set its own Cache-Control (static assets, problem types).
import type { MiddlewareObj } from '@middy/core'
import type { Context } from 'aws-lambda'
import type { RouteEvent, RouteResult } from './event.ts'

/** Middy step: Cache-Control no-store on every answer, errors included, that has none. */
export function noStoreByDefault(): MiddlewareObj<RouteEvent, RouteResult, Error, Context> {
  const apply = (request: { response?: RouteResult | null }) => {
    const response = request.response
    if (!response) return
    response.headers ??= {}
    response.headers['cache-control'] ??= 'no-store'
  }
  return { after: apply, onError: apply }
}
