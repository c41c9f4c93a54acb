// GET /register: the registration page, with the password rules in force.
import { route, type HandlerContext } from '#lib/http/route.ts'
import { registerPage } from '#lib/http/pages.ts'

async function showRegisterPage(_event: unknown, { config }: HandlerContext) {
  return registerPage(config.password.minLength)
}

export const handler = route(showRegisterPage, { page: 'register' })
