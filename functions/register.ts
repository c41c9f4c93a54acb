// POST /register: create an account, while the registration policy (REGISTRATION,
// lib/auth/registration.ts) allows it; otherwise 403 forbidden.
import { route, type HandlerContext, type RouteEvent } from '#lib/http/route.ts'
import { parseInput, registrationInput } from '#lib/auth/validation.ts'
import { findUserByUsername, isUniqueViolation } from '#lib/auth/users.ts'
import { registerUser, requireRegistrationOpen } from '#lib/auth/registration.ts'
import { hashPassword } from '#lib/auth/password.ts'
import { noticeCookie, seeOther } from '#lib/http/pages.ts'
import { jsonResult, userJson } from '#lib/http/json.ts'
import { returnToFromBody } from '#lib/http/return-to.ts'
import { Problem } from '#lib/problem.ts'

const usernameTaken = () =>
  new Problem('username_taken', {
    detail: 'That username is already taken.',
    errors: [{ field: 'username', message: 'That username is already taken; choose another.' }],
  })

async function register(event: RouteEvent, ctx: HandlerContext) {
  const { config, db, now } = ctx
  await requireRegistrationOpen(db, config.registration)
  const input = parseInput(registrationInput(config.password.minLength), event.body)
  const returnTo = returnToFromBody(event, ctx)
  // every well-formed attempt counts, taken names too: that bounds the "is this name taken" oracle
  await ctx.throttle.countRegistration(event.clientIp)

  // checked first so a taken name costs no bcrypt; the unique index decides any race
  if (await findUserByUsername(db, input.username)) throw usernameTaken()
  const hashing = { pool: ctx.hashPool, cost: config.password.bcryptCost, client: event.clientIp }
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
}

export const handler = route(register, { page: 'register' })
