// GET /auth/verify: forward-auth for Caddy (forward_auth) and Traefik (ForwardAuth). The proxy
// reports the request in X-Forwarded-Proto/-Host/-Uri and passes the browser's cookies; 200 with
// Remote-User/-Groups/-Name lets it through, a 302 sends a browser to sign in, 401 answers programs,
// 403 a signed-in account the rules do not admit (lib/http/forward-auth.ts, docs/front-door.md).
// No throttle and no bcrypt: it sits in front of every request of every protected app.
import { route, type HandlerContext, type RouteEvent } from '#lib/http/route.ts'
import { answerForwardAuth } from '#lib/http/forward-auth.ts'

async function verify(event: RouteEvent, ctx: HandlerContext) {
  return answerForwardAuth(event, 'forwarded', ctx)
}

export const handler = route(verify, { auth: 'optional', forwardAuth: true })
