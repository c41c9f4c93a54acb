// POST /sessions/end: end one of the signed-in user's other sessions (field `session`: a handle
// from the dashboard's list) or all of them (`session=others`). The session asking stays; ending
// it is POST /logout.
import { route, type HandlerContext, type AuthenticatedEvent } from '#lib/http/route.ts'
import { endSessionInput, OTHER_SESSIONS, parseInput } from '#lib/auth/validation.ts'
import { revokeSessionByHandle, revokeUserSessions, sessionHandle } from '#lib/auth/sessions.ts'
import { noticeCookie, seeOther } from '#lib/http/pages.ts'
import { invalidFields } from '#lib/problem.ts'

async function endSessions(event: AuthenticatedEvent, { config, db, now }: HandlerContext) {
  const { user, session: current } = event.auth
  const { session } = parseInput(endSessionInput, event.body)

  if (session === OTHER_SESSIONS) {
    await revokeUserSessions(db, user.id, current.id, now)
  } else if (session === sessionHandle(current.id)) {
    const message = 'This is the session you are using; sign out instead.'
    throw invalidFields([{ field: 'session', message }], message)
  } else if (!(await revokeSessionByHandle(db, user.id, session, now, config.session.ttlSeconds))) {
    const message = 'You have no such session; it may have ended already.'
    throw invalidFields([{ field: 'session', message }], message)
  }
  event.log.info(
    { event: 'sessions_ended', userId: user.id, scope: session === OTHER_SESSIONS ? 'others' : 'one' },
    'sessions ended',
  )

  if (event.wantsHtml)
    return seeOther(`/dashboard/${encodeURIComponent(user.username)}`, [noticeCookie('sessions_ended', event.secure)])
  return { statusCode: 204 }
}

export const handler = route(endSessions, { auth: 'required', page: 'dashboard' })
