// GET /auth/nginx: forward-auth for nginx's auth_request. nginx reports the request in
// X-Original-URL (our configuration sets it) and understands only 2xx, 401 and 403: a browser that
// must sign in gets 401 with a Location the configuration's error_page follows, a program the same
// 401 without one, which the configuration passes on (lib/http/forward-auth.ts, docs/front-door.md).
import { defineRoute, route } from '#lib/http/route.ts'
import {
  answerForwardAuth,
  FORWARD_AUTH_ROUTE,
  FORWARD_AUTH_TRUST,
  IDENTITY_HEADERS,
  SIGN_IN_LOCATION,
  UNAUTHORIZED_BODY,
} from '#lib/http/forward-auth.ts'

const TO_SECURITY = 'For a session that must set up a second factor first: `/security`.'

export const spec = defineRoute({
  keys: ['GET /auth/nginx'],
  summary: 'Forward-auth for nginx (auth_request)',
  description:
    `${FORWARD_AUTH_TRUST} The original request is read from \`X-Original-URL\`. nginx understands only 2xx, ` +
    '401 and 403, so browsers get 401 too, with a `Location` for `error_page`; programs get it without one.',
  ...FORWARD_AUTH_ROUTE,
  responses: {
    200: { description: 'Allowed: the proxy copies these headers onto the request.', headers: IDENTITY_HEADERS },
    401: {
      description: 'Nobody signed in. A browser: with the `Location` of the sign-in page; a program: without.',
      headers: [
        {
          ...SIGN_IN_LOCATION,
          description: `A browser only. ${SIGN_IN_LOCATION.description} ${TO_SECURITY}`,
          optional: true,
        },
      ],
      content: UNAUTHORIZED_BODY,
    },
  },
})

export const handler = route(spec, async (event, ctx) => answerForwardAuth(event, 'nginx', ctx))
