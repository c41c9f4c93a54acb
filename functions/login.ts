// POST /login: check the credentials, record the login time, start a session.
import { z } from 'zod'
import { defineRoute, route } from '#lib/http/route.ts'
import { loginInput } from '#lib/auth/validation.ts'
import { findUserByUsername, recordLogin, updatePasswordHash } from '#lib/auth/users.ts'
import { hashPassword, needsRehash, verifyPassword } from '#lib/auth/password.ts'
import { createSession, revokeSession } from '#lib/auth/sessions.ts'
import { sessionCookie } from '#lib/http/session-cookie.ts'
import { seeOther } from '#lib/http/pages.ts'
import { jsonResult, userJson, UserJson } from '#lib/http/json.ts'
import { pseudonym } from '#lib/platform/log.ts'
import { Problem } from '#lib/problem.ts'

const LoginJson = z.object({
  access_token: z.string().regex(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/),
  token_type: z.literal('Bearer'),
  expires_in: z.number().int().min(1).meta({ description: 'Seconds: `SESSION_TTL_SECONDS`.' }),
  user: UserJson,
})

export const spec = defineRoute({
  keys: ['POST /login'],
  summary: 'Sign in: check the credentials, record the login time, start a session',
  description:
    'Unknown user and wrong password get one answer (`401 invalid_credentials`) after the same work. Failed ' +
    'sign-ins are throttled per username and client and per client (`429 rate_limited` with `Retry-After`). ' +
    'A session the request already carries is ended and replaced.',
  tag: 'account',
  auth: 'optional',
  answers: 'page',
  page: 'login',
  input: loginInput,
  responses: {
    200: { description: 'Signed in.', json: LoginJson },
    303: { description: 'Form: signed in; to `/dashboard/<username>`.', headers: ['Location', 'Set-Cookie'] },
  },
  problems: ['invalid_credentials', 'rate_limited', 'internal_error', 'service_unavailable'],
})

export const handler = route(spec, async (event, ctx) => {
  const { config, db, now, throttle, hashing } = ctx
  const input = event.input
  const attempt = await throttle.startLoginAttempt(input.username)

  const user = await findUserByUsername(db, input.username)
  // an unknown user costs the same bcrypt comparison as a wrong password: one path, one answer;
  // a comparison the pool refused (503, 429) checked nothing, so it counts nothing
  const valid = await verifyPassword(hashing, input.password, user?.passwordHash).catch(attempt.withdraw)
  if (!user || !valid) {
    const lockoutSeconds = await attempt.failed()
    // people type passwords into the name field: a name no account has is logged as a keyed hash only
    const who = user
      ? { userId: user.id, username: user.username }
      : { usernameHash: pseudonym(input.username.toLowerCase(), ctx.jwtSecret) }
    event.log.warn({ event: 'login_failed', ...who, lockoutSeconds }, 'login failed')
    throw new Problem('invalid_credentials', { detail: 'Check both and try again.' })
  }
  await attempt.succeeded()
  const rehash = needsRehash(user.passwordHash, config.password.bcryptCost)
    ? await hashPassword(hashing, input.password)
    : undefined

  const { token, signedIn } = await db.tx(async (tx) => {
    const signedIn = await recordLogin(tx, user.id, now)
    if (rehash) await updatePasswordHash(tx, user.id, rehash)
    // signing in again replaces the session this client held: the old token ends here (ASVS 7.2.4)
    if (event.auth) await revokeSession(tx, event.auth.session.id, now)
    return { ...(await createSession(tx, signedIn, now, ctx)), signedIn }
  })
  event.log.info({ event: 'login_succeeded', userId: user.id }, 'login succeeded')

  if (event.wantsHtml) {
    return seeOther(`/dashboard/${encodeURIComponent(user.username)}`, [
      sessionCookie(token, event.secure, config.session.ttlSeconds),
    ])
  }
  const body: z.output<typeof LoginJson> = {
    access_token: token,
    token_type: 'Bearer',
    // the contract's number, not the time left computed back from a start floored to whole seconds
    expires_in: config.session.ttlSeconds,
    user: userJson(signedIn),
  }
  return jsonResult(200, body)
})
