// The one place a Problem becomes an HTTP response: RFC 9457 JSON for programs, the page the user
// was on for browsers. Anything thrown that is not a Problem is logged here and answered with a
// generic 500 (or 503 when the database is away), its details never sent.
import type { MiddlewareObj } from '@middy/core'
import type { Logger } from 'pino'
import type { RouteEvent, RouteResult } from './event.ts'
import { createLogger } from '../platform/log.ts'
import { logBudgetFor } from '../platform/log-budget.ts'
import { startedRuntime } from '../platform/runtime.ts'
import { toProblem, type Problem, type ProblemCode } from '../problem.ts'
import { problemJson } from './problem-json.ts'

export { problemJson } from './problem-json.ts'

let fallbackLog: Logger | undefined

// refusals an operator watching for attacks wants to see: guessing, probing, forged requests
const SECURITY_RELEVANT = new Set<ProblemCode>([
  'invalid_credentials',
  'invalid_second_factor',
  'pending_sign_in_expired',
  'second_factor_enrolment_required',
  'unauthorized',
  'session_expired',
  'forbidden',
  'cross_origin_rejected',
  'rate_limited',
  'misdirected_request',
])

/**
 * A failure of the service, logged at error with its stack: any 5xx but one the service chose to
 * answer (a Problem thrown without a cause, like the bcrypt pool's 503 when it is full), which is a
 * refusal like a 4xx, expected under load.
 */
const isFault = (problem: Problem) =>
  problem.status >= 500 && (problem.extra.cause !== undefined || problem.code !== 'service_unavailable')

/** Middy onError step, registered last so it runs first: turns request.error into the response. */
export function problemResponder(): MiddlewareObj<RouteEvent, RouteResult> {
  return {
    onError: async (request) => {
      const problem = toProblem(request.error)
      const event = request.event
      // before the request logger exists (the runtime failed to start) the process one stands in
      const log = event.log ?? (fallbackLog ??= createLogger('info'))
      if (isFault(problem))
        log.error(
          { event: 'request_failed', code: problem.code, err: problem.extra.cause ?? problem },
          'request failed',
        )
      // a flood of refusals writes a bounded number of lines, then counts (lib/platform/log-budget.ts)
      else if (logBudgetFor(startedRuntime()?.log ?? log).admit(`request_refused:${problem.code}`, Date.now())) {
        // field names only, never the values sent
        const fields = problem.extra.errors?.map((error) => error.field)
        const level = SECURITY_RELEVANT.has(problem.code) ? 'warn' : 'info'
        log[level](
          {
            event: 'request_refused',
            code: problem.code,
            status: problem.status,
            fields,
            retryAfter: problem.extra.headers?.['retry-after'],
          },
          'request refused',
        )
      }
      // the pages (templates, the security page's state) are imported at the first HTML error, so
      // that the chain every route shares, and /health's first answer at start, does without them
      request.response = event.wantsHtml
        ? await (await import('./pages.ts')).renderErrorPage(event, problem, startedRuntime())
        : problemJson(problem)
    },
  }
}
