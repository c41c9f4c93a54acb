// GET / (and GET /login): the sign-in page. JSON clients get a map of the API instead. The
// register link is there only while registration is open (REGISTRATION, lib/auth/registration.ts).
import * as z from 'zod'
import { defineRoute, route } from '#lib/http/route.ts'
import { loginPage, takeNotice, withCookies } from '#lib/http/pages.ts'
import { jsonResult } from '#lib/http/json.ts'
import { isRegistrationOpen } from '#lib/auth/registration.ts'
import { returnToFromQuery } from '#lib/http/return-to.ts'

const ServiceMap = z.object({
  service: z.literal('gateway-auth'),
  login: z.literal('/login'),
  register: z.literal('/register').optional().meta({ description: 'Only while registration is open.' }),
  health: z.literal('/health'),
  openapi: z.literal('/openapi.json'),
})

export const spec = defineRoute({
  keys: ['GET /', 'GET /login'],
  summary: 'The sign-in page; JSON clients get a map of the API',
  tag: 'account',
  answers: 'page',
  page: 'login',
  responses: { 200: { description: 'The sign-in page, or the map of the API.', json: ServiceMap, html: true } },
  problems: ['internal_error', 'service_unavailable'],
})

/** The sign-in page, showing a notice a redirect left (account created, session expired, …). */
export const handler = route(spec, async (event, ctx) => {
  const { config, db } = ctx
  const registrationOpen = await isRegistrationOpen(db, config.registration)
  if (!event.wantsHtml) {
    const map: z.output<typeof ServiceMap> = {
      service: 'gateway-auth',
      login: '/login',
      ...(registrationOpen ? { register: '/register' as const } : {}),
      health: '/health',
      openapi: '/openapi.json',
    }
    return jsonResult(200, map)
  }
  const { notice, cookies } = takeNotice(event)
  const view = { notice, registrationOpen, firstAccount: registrationOpen && config.registration === 'first' }
  const values = {
    username: event.queryStringParameters?.username ?? '',
    return_to: returnToFromQuery(event, ctx) ?? '',
  }
  return withCookies(loginPage({ ...view, values }), cookies)
})
