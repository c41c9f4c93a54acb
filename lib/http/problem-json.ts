// A problem as RFC 9457 JSON: apart from the responder (problem-response.ts, which renders pages
// with nunjucks) so that the adapter's own refusals, which can come before any route has loaded,
// load nothing more than the problem table.
import type { RouteResult } from './event.ts'
import { PROBLEMS, problemTypeUri, type Problem } from '../problem.ts'

/** The RFC 9457 JSON response for a problem. */
export function problemJson(problem: Problem): RouteResult {
  const [status, title] = PROBLEMS[problem.code]
  const { detail, errors } = problem.extra
  return {
    statusCode: status,
    headers: { 'content-type': 'application/problem+json', ...problem.extra.headers },
    body: JSON.stringify({
      type: problemTypeUri(problem.code),
      title,
      status,
      // 5xx details are internal: only the generic title goes out
      ...(status < 500 && detail ? { detail } : {}),
      code: problem.code,
      ...(errors?.length ? { errors } : {}),
      ...(problem.extra.secondFactor ? { second_factor: problem.extra.secondFactor } : {}),
    }),
  }
}
