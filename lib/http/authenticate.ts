// Authentication as a middleware: routes that need a session declare it, and their handlers only
// read event.auth. 'required' throws unauthorized / session_expired (HTML turns those into a
// redirect to the login page); 'optional' leaves event.auth unset when there is no valid session.
import type { MiddlewareObj } from '@middy/core'
import type { Context } from 'aws-lambda'
import type { RouteEvent, RouteResult } from './event.ts'
import { Problem } from '../problem.ts'
import { readSessionToken } from './session-cookie.ts'
import { validateSession } from '../auth/sessions.ts'
import { contextOf } from './request-context.ts'

export function authenticate(
  mode: 'required' | 'optional' | undefined,
): MiddlewareObj<RouteEvent, RouteResult, Error, Context> {
  return {
    before: async (request) => {
      if (!mode) return
      const event = request.event
      const token = readSessionToken(event)
      if (!token) {
        if (mode === 'required') throw new Problem('unauthorized', { detail: 'Sign in to continue.' })
        return
      }
      try {
        const context = contextOf(event)
        event.auth = await validateSession(context.db, token, context.now, context)
      } catch (error) {
        if (mode === 'required' || !(error instanceof Problem)) throw error
      }
    },
  }
}
