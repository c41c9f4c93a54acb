// GET /auth/nginx: forward-auth for nginx's auth_request. nginx reports the request in
// X-Original-URL (our configuration sets it) and understands only 2xx, 401 and 403: a browser that
// must sign in gets 401 with a Location the configuration's error_page follows
// (lib/http/forward-auth.ts, docs/front-door.md).
import { route, type HandlerContext, type RouteEvent } from '#lib/http/route.ts'
import { answerForwardAuth } from '#lib/http/forward-auth.ts'

async function verifyForNginx(event: RouteEvent, ctx: HandlerContext) {
  return answerForwardAuth(event, 'nginx', ctx)
}

export const handler = route(verifyForNginx, { auth: 'optional', forwardAuth: true })
