// "return_to" on the sign-in and registration pages: where the browser goes once signed in
// (lib/auth/return-to.ts says which URLs may be followed). A sign-in link carrying a URL that may
// not be followed loses it quietly (the page still works); a form or JSON body carrying one is
// refused, since only a forged request sends one.
import { safeReturnTo } from '../auth/return-to.ts'
import type { Runtime } from '../platform/runtime.ts'
import { invalidFields } from '../problem.ts'
import type { RouteEvent } from './event.ts'

type Context = Pick<Runtime, 'config' | 'accessRules'>

/** The origins this service is reached at: the request's own, and AUTH_URL's. */
function ownOrigins(event: RouteEvent, { config }: Context): string[] {
  const host = event.headers.host ?? event.requestContext.domainName
  const own = `${event.secure ? 'https' : 'http'}://${host}`
  return config.frontDoor.authOrigin ? [own, config.frontDoor.authOrigin] : [own]
}

/** The query's return_to when it may be followed, else undefined (a page link: dropped quietly). */
export function returnToFromQuery(event: RouteEvent, ctx: Context): string | undefined {
  const raw = event.queryStringParameters?.return_to
  return safeReturnTo(raw, { rules: ctx.accessRules, ownOrigins: ownOrigins(event, ctx) })
}

/** The input's return_to (its shape checked by the schema): the URL when it may be followed; else 400. */
export function returnToFromInput(
  event: RouteEvent & { input: { return_to?: string | undefined } },
  ctx: Context,
): string | undefined {
  const raw = event.input.return_to
  if (raw === undefined || raw === '') return undefined
  const url = safeReturnTo(raw, { rules: ctx.accessRules, ownOrigins: ownOrigins(event, ctx) })
  if (url === undefined) {
    throw invalidFields([
      {
        field: 'return_to',
        message: 'return_to must be the address of one of this gateway’s apps or of this service.',
      },
    ])
  }
  return url
}
