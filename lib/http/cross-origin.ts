// CSRF: a POST that carries a session cookie, or is anything but JSON (a form can be posted from
// any site without a preflight), must come from our own origin.
import type { MiddlewareObj } from '@middy/core'
import type { Context } from 'aws-lambda'
import type { RouteEvent, RouteResult } from './event.ts'
import { hasSessionCookie } from './session-cookie.ts'
import { JSON_MEDIA_TYPE } from './body.ts'
import { Problem } from '../problem.ts'

/** Middy step: refuses a cross-site POST with 403 cross_origin_rejected. */
export function rejectCrossOrigin(): MiddlewareObj<RouteEvent, RouteResult, Error, Context> {
  return {
    before: (request) => {
      const event = request.event
      if (event.requestContext.http.method !== 'POST') return
      const headers = event.headers
      if (!hasSessionCookie(event) && event.mediaType === JSON_MEDIA_TYPE) return
      const origin = headers.origin
      const ownOrigin = `${event.secure ? 'https' : 'http'}://${headers.host ?? event.requestContext.domainName}`
      if ((origin !== undefined && origin !== ownOrigin) || headers['sec-fetch-site'] === 'cross-site') {
        throw new Problem('cross_origin_rejected', { detail: 'This request must come from the service’s own pages.' })
      }
    },
  }
}
