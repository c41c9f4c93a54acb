// POST /sessions/end: end one of the signed-in user's other sessions (field `session`: a handle
// from the dashboard's list) or all of them (`session=others`). The session asking stays; ending
// it is POST /logout.
import { defineRoute, route } from '#lib/http/route.ts'
import { endSessionInput, OTHER_SESSIONS } from '#lib/auth/validation.ts'
import { revokeUserSessions } from '#lib/auth/sessions.ts'
import { revokeSessionByHandle, sessionHandle } from '#lib/auth/session-list.ts'
import { noticeCookie, seeOther } from '#lib/http/pages.ts'
import { invalidFields } from '#lib/problem.ts'

export const spec = defineRoute({
  keys: ['POST /sessions/end'],
  summary: "End one of the user's other sessions, or all of them (`session=others`)",
  description: 'The session asking stays (ending it is `POST /logout`); naming it, or no live session, is `400`.',
  tag: 'session',
  auth: 'required',
  answers: 'page',
  page: 'dashboard',
  input: endSessionInput,
  responses: {
    204: { description: 'Ended.' },
    303: { description: 'Form: ended; to the dashboard, which says so.', headers: ['Location', 'Set-Cookie'] },
  },
  problems: ['internal_error', 'service_unavailable'],
})

export const handler = route(spec, async (event, { config, db, now }) => {
  const { user, session: current } = event.auth
  const { session } = event.input

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
    { event: 'sessions_ended', scope: session === OTHER_SESSIONS ? 'others' : 'one', userId: user.id },
    'sessions ended',
  )

  if (event.wantsHtml)
    return seeOther(`/dashboard/${encodeURIComponent(user.username)}`, [noticeCookie('sessions_ended', event.secure)])
  return { statusCode: 204 }
})
