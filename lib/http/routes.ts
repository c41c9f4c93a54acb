// The route table: the one list of what the service answers, made from the route modules' specs
// (lib/http/route-table.ts, written by `npm run docs`). Keys are API Gateway route keys
// ("METHOD /path/{param}"); values name the module in functions/ (each exports `handler` and `spec`).
// The Express adapter routes from it, not-found tells 404 from 405 with it, the Lambda deployment
// makes one API route and one function per row, the fuzzer and the docs' tables are checked
// against it. Paths match exactly, as API Gateway matches them: no trailing-slash twin, no case
// folding; a {param} is one non-empty segment that must %-decode.
import { ROUTES } from './route-table.ts'

export { ROUTES }

export type RouteKey = keyof typeof ROUTES
export type FunctionName = (typeof ROUTES)[RouteKey] | typeof NOT_FOUND
/** What answers every request no row matches: API Gateway's `$default` route. */
export const NOT_FOUND = 'not-found'

export interface RouteMatch {
  readonly routeKey: RouteKey | '$default'
  readonly name: FunctionName
  readonly pathParameters?: Record<string, string>
}

interface CompiledRoute {
  readonly routeKey: RouteKey
  readonly method: string
  readonly segments: readonly string[]
}

const COMPILED: readonly CompiledRoute[] = (Object.keys(ROUTES) as RouteKey[]).map((routeKey) => {
  const [method, path] = routeKey.split(' ') as [string, string]
  return { routeKey, method, segments: path.split('/').slice(1) }
})

const PARAM = /^\{(\w+)\}$/

/** The path parameters when `path` has the route's shape, else undefined. */
function matchPath(route: CompiledRoute, pathSegments: readonly string[]): Record<string, string> | undefined {
  if (pathSegments.length !== route.segments.length) return undefined
  const params: Record<string, string> = {}
  for (const [i, segment] of route.segments.entries()) {
    const actual = pathSegments[i]!
    const param = PARAM.exec(segment)?.[1]
    if (!param) {
      if (actual !== segment) return undefined
      continue
    }
    const decoded = decodeSegment(actual)
    if (!decoded) return undefined
    params[param] = decoded
  }
  return params
}

function decodeSegment(segment: string): string | undefined {
  try {
    return decodeURIComponent(segment) || undefined
  } catch {
    // a path whose %-escapes do not decode names nothing (/dashboard/%zz is not a dashboard)
    return undefined
  }
}

/** The route serving `method` `path` (HEAD is served by GET), or not-found. */
export function matchRoute(method: string, path: string): RouteMatch {
  const segments = path.split('/').slice(1)
  const wanted = method === 'HEAD' ? 'GET' : method
  for (const route of COMPILED) {
    if (route.method !== wanted) continue
    const params = matchPath(route, segments)
    if (params) {
      return {
        routeKey: route.routeKey,
        name: ROUTES[route.routeKey],
        ...(Object.keys(params).length ? { pathParameters: params } : {}),
      }
    }
  }
  return { routeKey: '$default', name: NOT_FOUND }
}

/** The methods a path answers to (GET implies HEAD), or undefined when no route has that path. */
export function allowedMethods(path: string): string[] | undefined {
  const segments = path.split('/').slice(1)
  const methods = COMPILED.filter((route) => matchPath(route, segments)).map((route) => route.method)
  if (!methods.length) return undefined
  return methods.includes('GET') ? [...methods, 'HEAD'] : methods
}

/** Every function the table names, not-found included, once each. */
export const FUNCTION_NAMES: readonly FunctionName[] = [...new Set<FunctionName>([...Object.values(ROUTES), NOT_FOUND])]
