// Authentication as a middleware: routes that need a session declare it, and their handlers only
// read event.auth. 'required' throws unauthorized / session_expired (HTML turns those into a
// redirect to the login page); 'optional' leaves event.auth unset when there is no valid session.
// A session whose account the policy requires to have a second factor, and has none, is refused
// (403 second_factor_enrolment_required; pages: to /security) by every 'required' route but those
// that serve the enrolment (`beforeEnrolment`).
import type { MiddlewareObj } from '@middy/core'
import type { Context } from 'aws-lambda'
import type { RouteEvent, RouteResult } from './event.ts'
import { Problem } from '../problem.ts'
import { readSessionToken } from './session-cookie.ts'
import { validateSession } from '../auth/sessions.ts'
import { mustEnrol } from '../auth/second-factors.ts'
import { contextOf } from './request-context.ts'

export function authenticate(
  mode: 'required' | 'optional' | undefined,
  { forwardAuth = false, beforeEnrolment = false } = {},
): MiddlewareObj<RouteEvent, RouteResult, Error, Context> {
  return {
    before: async (request) => {
      if (!mode) return
      const event = request.event
      const token = readSessionToken(event, { cookieFirst: forwardAuth })
      if (!token) {
        if (mode === 'required') throw new Problem('unauthorized', { detail: 'Sign in to continue.' })
        return
      }
      const context = contextOf(event)
      try {
        event.auth = await validateSession(context.db, token, context.now, context)
      } catch (error) {
        if (mode === 'required' || !(error instanceof Problem)) throw error
      }
      if (mode === 'required' && !beforeEnrolment && mustEnrol(event.auth!.user, context.config.requireSecondFactor)) {
        throw new Problem('second_factor_enrolment_required', {
          detail: 'This account must set up a second factor first: see /security.',
        })
      }
    },
  }
}
