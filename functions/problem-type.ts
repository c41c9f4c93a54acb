// GET /problems/<code>: what a problem's `type` URI points at, so a client (or a person) that meets
// a code can read what it means and what to do, on the device itself, offline.
import { route, type RouteEvent } from '#lib/http/route.ts'
import { renderHtml } from '#lib/http/render.ts'
import { jsonResult } from '#lib/http/json.ts'
import { PROBLEMS, Problem, isProblemCode, problemTypeUri } from '#lib/problem.ts'

async function describeProblem(event: RouteEvent) {
  const code = event.pathParameters?.code ?? ''
  if (!isProblemCode(code)) throw new Problem('not_found', { detail: 'There is no problem type with this code.' })
  const [status, title, description] = PROBLEMS[code]
  const headers = { 'cache-control': 'public, max-age=86400' }
  if (event.wantsHtml) {
    const page = renderHtml('problem-type', { code, status, title, description })
    return { ...page, headers: { ...page.headers, ...headers } }
  }
  const result = jsonResult(200, { type: problemTypeUri(code), code, status, title, description })
  return { ...result, headers: { ...result.headers, ...headers } }
}

export const handler = route(describeProblem)
