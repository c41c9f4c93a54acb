// GET /auth/verify: forward-auth for Caddy (forward_auth) and Traefik (ForwardAuth). The proxy
// reports the request in X-Forwarded-Proto/-Host/-Uri and passes the browser's cookies; 200 with
// Remote-User/-Groups/-Name lets it through, a 302 sends a browser to sign in, 401 answers programs,
// 403 a signed-in account the rules do not admit (lib/http/forward-auth.ts, docs/front-door.md).
// No throttle and no bcrypt: it sits in front of every request of every protected app.
import { defineRoute, route } from '#lib/http/route.ts'
import {
  answerForwardAuth,
  FORWARD_AUTH_ROUTE,
  FORWARD_AUTH_TRUST,
  IDENTITY_HEADERS,
  SIGN_IN_LOCATION,
  UNAUTHORIZED_BODY,
} from '#lib/http/forward-auth.ts'

export const spec = defineRoute({
  keys: ['GET /auth/verify'],
  summary: 'Forward-auth for Caddy (forward_auth) and Traefik (ForwardAuth)',
  description:
    `${FORWARD_AUTH_TRUST} The original request is read from \`X-Forwarded-Proto\`, \`X-Forwarded-Host\` ` +
    'and `X-Forwarded-Uri`.',
  ...FORWARD_AUTH_ROUTE,
  responses: {
    200: { description: 'Allowed: the proxy copies these headers onto the request.', headers: IDENTITY_HEADERS },
    302: {
      description:
        'A browser nobody signed in: to the sign-in page with `return_to` (the proxy passes it on); a session ' +
        'that must set up a second factor first (REQUIRE_SECOND_FACTOR): to `/security`.',
      headers: [SIGN_IN_LOCATION],
    },
    401: { description: 'Nobody signed in (JSON clients, bearer tokens).', content: UNAUTHORIZED_BODY },
  },
})

export const handler = route(spec, async (event, ctx) => answerForwardAuth(event, 'forwarded', ctx))
