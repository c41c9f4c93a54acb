// GET /register: the registration page, with the password rules in force; while the registration
// policy (REGISTRATION, lib/auth/registration.ts) says no, 403 and a page saying so, without a form.
import { defineRoute, route } from '#lib/http/route.ts'
import { registerPage } from '#lib/http/pages.ts'
import { requireRegistrationOpen } from '#lib/auth/registration.ts'

export const spec = defineRoute({
  keys: ['GET /register'],
  summary: 'The registration page (while registration is open)',
  tag: 'account',
  answers: 'page',
  page: 'register',
  responses: { 200: { description: 'The registration form.', html: true } },
  problems: ['forbidden', 'internal_error', 'service_unavailable'],
})

export const handler = route(spec, async (_event, { config, db }) => {
  await requireRegistrationOpen(db, config.registration)
  return registerPage(config.password.minLength, { firstAccount: config.registration === 'first' })
})
