// GET / (and GET /login): the sign-in page. JSON clients get a map of the API instead. The
// register link is there only while registration is open (REGISTRATION, lib/auth/registration.ts).
import { route, type HandlerContext, type RouteEvent, type RouteResult } from '#lib/http/route.ts'
import { loginPage, takeNotice, withCookies } from '#lib/http/pages.ts'
import { jsonResult } from '#lib/http/json.ts'
import { isRegistrationOpen } from '#lib/auth/registration.ts'
import { returnToFromQuery } from '#lib/http/return-to.ts'

/** The sign-in page, showing a notice a redirect left (account created, session expired, …). */
async function showLoginPage(event: RouteEvent, ctx: HandlerContext): Promise<RouteResult> {
  const { config, db } = ctx
  const registrationOpen = await isRegistrationOpen(db, config.registration)
  if (!event.wantsHtml) {
    return jsonResult(200, {
      service: 'gateway-auth',
      login: '/login',
      ...(registrationOpen ? { register: '/register' } : {}),
      health: '/health',
      openapi: '/openapi.json',
    })
  }
  const { notice, cookies } = takeNotice(event)
  const view = { notice, registrationOpen, firstAccount: registrationOpen && config.registration === 'first' }
  const values = {
    username: event.queryStringParameters?.username ?? '',
    return_to: returnToFromQuery(event, ctx) ?? '',
  }
  return withCookies(loginPage({ ...view, values }), cookies)
}

export const handler = route(showLoginPage, { page: 'login' })
