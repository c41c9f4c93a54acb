// POST /login: check the credentials, record the login time, start a session.
import { route, type HandlerContext, type RouteEvent } from '#lib/http/route.ts'
import { loginInput, parseInput } from '#lib/auth/validation.ts'
import { findUserByUsername, recordLogin, updatePasswordHash } from '#lib/auth/users.ts'
import { hashPassword, needsRehash, verifyPassword } from '#lib/auth/password.ts'
import { createSession, revokeSession } from '#lib/auth/sessions.ts'
import { sessionCookie } from '#lib/http/session-cookie.ts'
import { seeOther } from '#lib/http/pages.ts'
import { jsonResult, userJson } from '#lib/http/json.ts'
import { pseudonym } from '#lib/platform/log.ts'
import { Problem } from '#lib/problem.ts'

async function login(event: RouteEvent, ctx: HandlerContext) {
  const { config, db, now, throttle } = ctx
  const input = parseInput(loginInput, event.body)
  const user = await findUserByUsername(db, input.username)
  const attempt = await throttle.startLoginAttempt(input.username, event.clientIp)

  const hashing = { pool: ctx.hashPool, cost: config.password.bcryptCost, client: event.clientIp, log: event.log }
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

  const { session, token, signedIn } = await db.tx(async (tx) => {
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
  return jsonResult(200, {
    access_token: token,
    token_type: 'Bearer',
    expires_in: Math.round((session.expiresAt.getTime() - now.getTime()) / 1000),
    user: userJson(signedIn),
  })
}

export const handler = route(login, { page: 'login', auth: 'optional' })
