// GET /problems/<code>: what a problem's `type` URI points at, so a client (or a person) that meets
// a code can read what it means and what to do, on the device itself, offline.
import * as z from 'zod'
import { defineRoute, route } from '#lib/http/route.ts'
import { renderHtml } from '#lib/http/render.ts'
import { jsonResult } from '#lib/http/json.ts'
import { PROBLEMS, Problem, isProblemCode, problemTypeUri, type ProblemCode } from '#lib/problem.ts'

const codes = Object.keys(PROBLEMS) as [ProblemCode, ...ProblemCode[]]
const ProblemTypeJson = z.object({
  type: z.string().regex(/^\/problems\/[a-z_]+$/),
  code: z.enum(codes),
  status: z.number().int().min(400).max(599),
  title: z.string(),
  description: z.string(),
})

export const spec = defineRoute({
  keys: ['GET /problems/{code}'],
  summary: "What a problem's `type` points at: the code's meaning and what to do",
  tag: 'service',
  answers: 'page',
  params: { code: { schema: { $ref: '#/components/schemas/ProblemCode' } } },
  responses: {
    200: { description: 'The problem type.', json: ProblemTypeJson, html: true, headers: ['Cache-Control'] },
  },
  problems: ['not_found', 'internal_error', 'service_unavailable'],
})

export const handler = route(spec, async (event) => {
  const code = event.pathParameters?.code ?? ''
  if (!isProblemCode(code)) throw new Problem('not_found', { detail: 'There is no problem type with this code.' })
  const [status, title, description] = PROBLEMS[code]
  // one URL, two representations, cached by shared caches too: Vary keeps a cached page from a program
  const headers = { 'cache-control': 'public, max-age=86400', vary: 'Accept' }
  if (event.wantsHtml) {
    const page = renderHtml('problem-type', { code, status, title, description })
    return { ...page, headers: { ...page.headers, ...headers } }
  }
  const result = jsonResult(200, { type: problemTypeUri(code), code, status, title, description })
  return { ...result, headers: { ...result.headers, ...headers } }
})
