// Content negotiation: Middy's http-content-negotiation, remembered per Accept value. Clients send
// a handful of distinct Accept headers (a browser's, `application/json`, none), and negotiator
// parsed and sorted the header again for every request: the largest allocation of the chain in the
// heap profile (issue 17). The answer for a value is computed by Middy's middleware once, then
// copied onto each request's context; at most MEMO_SIZE values of at most MEMO_KEY_LENGTH
// characters are kept (emptied when full, as lib/http/client.ts does).
import type { MiddlewareObj, Request } from '@middy/core'
import httpContentNegotiation from '@middy/http-content-negotiation'
import type { Context } from 'aws-lambda'
import type { RouteEvent, RouteResult } from './event.ts'

const MEMO_SIZE = 256
const MEMO_KEY_LENGTH = 512
// a header value never holds a line break, so this stands for "no Accept header"
const ABSENT = '\n'

const negotiate = httpContentNegotiation({
  parseCharsets: false,
  parseEncodings: false,
  parseLanguages: false,
  availableMediaTypes: ['text/html', 'application/json'],
  failOnMismatch: false,
}).before!

/** What negotiation leaves on the context; the array is shared between requests and never changed. */
interface Negotiated {
  readonly preferredMediaTypes: readonly string[]
  readonly preferredMediaType: string | undefined
}

type NegotiatedContext = Context & { -readonly [K in keyof Negotiated]?: Negotiated[K] }

const memo = new Map<string, Negotiated>()

/** Middy step: context.preferredMediaType(s) for the request's Accept, as Middy's middleware sets them. */
export function negotiateMediaType(): MiddlewareObj<RouteEvent, RouteResult, Error, Context> {
  return {
    before: (request) => {
      const accept = request.event.headers?.accept ?? ABSENT
      if (!request.event.headers || accept.length > MEMO_KEY_LENGTH) return negotiate(request)
      const context = request.context as NegotiatedContext
      let known = memo.get(accept)
      if (!known) {
        negotiate(request as Request)
        known = {
          preferredMediaTypes: Object.freeze([...(context.preferredMediaTypes ?? [])]),
          preferredMediaType: context.preferredMediaType,
        }
        if (memo.size >= MEMO_SIZE) memo.clear()
        memo.set(accept, known)
      }
      context.preferredMediaTypes = known.preferredMediaTypes
      context.preferredMediaType = known.preferredMediaType
    },
  }
}
