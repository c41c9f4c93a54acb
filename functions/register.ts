// POST /register: create an account, while the registration policy (REGISTRATION,
// lib/auth/registration.ts) allows it; otherwise 403 forbidden.
import * as z from 'zod'
import { defineRoute, route } from '#lib/http/route.ts'
import { registrationInput } from '#lib/auth/validation.ts'
import { findUserByUsername, isUniqueViolation } from '#lib/auth/users.ts'
import { registerUser, requireRegistrationOpen } from '#lib/auth/registration.ts'
import { hashPassword } from '#lib/auth/password.ts'
import { noticeCookie, seeOther } from '#lib/http/pages.ts'
import { jsonResult, userJson, UserJson } from '#lib/http/json.ts'
import { returnToFromInput } from '#lib/http/return-to.ts'
import { Problem } from '#lib/problem.ts'

export const spec = defineRoute({
  keys: ['POST /register'],
  summary: 'Create an account (while the registration policy allows it)',
  description:
    'Registrations are counted per client (`429 rate_limited`). Names are unique in any letter case ' +
    '(`409 username_taken`). `REGISTRATION=closed`, or `first` once an account exists: `403 forbidden`.',
  tag: 'account',
  answers: 'page',
  page: 'register',
  input: ({ passwordMinLength }) => registrationInput(passwordMinLength),
  responses: {
    201: { description: 'Created.', json: z.object({ user: UserJson }) },
    303: { description: 'Form: created; to `/login`, whose page says so.', headers: ['Location', 'Set-Cookie'] },
  },
  problems: ['forbidden', 'username_taken', 'rate_limited', 'internal_error', 'service_unavailable'],
})

const usernameTaken = () =>
  new Problem('username_taken', {
    detail: 'That username is already taken.',
    errors: [{ field: 'username', message: 'That username is already taken; choose another.' }],
  })

export const handler = route(spec, async (event, ctx) => {
  const { config, db, now, throttle, hashing } = ctx
  await requireRegistrationOpen(db, config.registration)
  const input = event.input
  const returnTo = returnToFromInput(event, ctx)
  // every well-formed attempt counts, taken names too: that bounds the "is this name taken" oracle
  await throttle.countRegistration()

  // checked first so a taken name costs no bcrypt; the unique index decides any race
  if (await findUserByUsername(db, input.username)) throw usernameTaken()
  const passwordHash = await hashPassword(hashing, input.password)
  const user = await registerUser(db, config.registration, input.username, passwordHash, now).catch(
    (error: unknown) => {
      throw isUniqueViolation(error) ? usernameTaken() : error
    },
  )
  event.log.info({ event: 'user_registered', userId: user.id }, 'user registered')

  // back to the sign-in page, still carrying where the visitor was going
  const next = returnTo ? `/login?return_to=${encodeURIComponent(returnTo)}` : '/login'
  if (event.wantsHtml) return seeOther(next, [noticeCookie('registered', event.secure)])
  return jsonResult(201, { user: userJson(user) })
})
