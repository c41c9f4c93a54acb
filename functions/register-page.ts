// GET /register: the registration page, with the password rules in force; while the registration
// policy (REGISTRATION, lib/auth/registration.ts) says no, 403 and a page saying so, without a form.
import { route, type HandlerContext, type RouteEvent } from '#lib/http/route.ts'
import { registerPage } from '#lib/http/pages.ts'
import { returnToFromQuery } from '#lib/http/return-to.ts'
import { requireRegistrationOpen } from '#lib/auth/registration.ts'

async function showRegisterPage(event: RouteEvent, ctx: HandlerContext) {
  await requireRegistrationOpen(ctx.db, ctx.config.registration)
  const values = { return_to: returnToFromQuery(event, ctx) ?? '' }
  return registerPage(ctx.config.password.minLength, { firstAccount: ctx.config.registration === 'first', values })
}

export const handler = route(showRegisterPage, { page: 'register' })
