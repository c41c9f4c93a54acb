// GET / (and GET /login): the sign-in page. JSON clients get a map of the API instead.
import { route, type RouteEvent, type RouteResult } from '#lib/http/route.ts'
import { loginPage, takeNotice, withCookies } from '#lib/http/pages.ts'
import { jsonResult } from '#lib/http/json.ts'

/** The sign-in page, showing a notice a redirect left (account created, session expired, …). */
async function showLoginPage(event: RouteEvent): Promise<RouteResult> {
  if (!event.wantsHtml) {
    return jsonResult(200, { service: 'gateway-auth', login: '/login', register: '/register', health: '/health' })
  }
  const { notice, cookies } = takeNotice(event)
  return withCookies(loginPage({ notice, values: { username: event.queryStringParameters?.username ?? '' } }), cookies)
}

export const handler = route(showLoginPage, { page: 'login' })
