// GET /register: the registration page, with the password rules in force; while the registration
// policy (REGISTRATION, lib/auth/registration.ts) says no, 403 and a page saying so, without a form.
import { route, type HandlerContext } from '#lib/http/route.ts'
import { registerPage } from '#lib/http/pages.ts'
import { requireRegistrationOpen } from '#lib/auth/registration.ts'

async function showRegisterPage(_event: unknown, { config, db }: HandlerContext) {
  await requireRegistrationOpen(db, config.registration)
  return registerPage(config.password.minLength, { firstAccount: config.registration === 'first' })
}

export const handler = route(showRegisterPage, { page: 'register' })
