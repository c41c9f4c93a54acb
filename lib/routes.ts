// The route table: which function serves which path and methods. The Express adapter mounts it,
// the Lambda deployment maps the same rows, and not-found uses it to tell 404 from 405.
export interface RouteEntry {
  readonly path: string
  readonly methods: readonly ('GET' | 'POST')[]
  /** functions/<name>.ts */
  readonly name: string
}

export const ROUTES: readonly RouteEntry[] = [
  { path: '/', methods: ['GET'], name: 'index' },
  { path: '/login', methods: ['GET', 'POST'], name: 'login' },
  { path: '/register', methods: ['GET', 'POST'], name: 'register' },
  { path: '/dashboard/:username', methods: ['GET'], name: 'dashboard' },
  { path: '/password', methods: ['POST'], name: 'password' },
  { path: '/logout', methods: ['POST'], name: 'logout' },
  { path: '/sessions/end', methods: ['POST'], name: 'end-sessions' },
  { path: '/health', methods: ['GET'], name: 'health' },
  { path: '/static/:file', methods: ['GET'], name: 'static' },
]

const matchers = ROUTES.map((entry) => ({
  entry,
  // Express matches a trailing slash too (non-strict routing), so the 405 check must as well
  pattern: new RegExp(`^${entry.path.replace(/:\w+/g, '[^/]+').replace(/\/$/, '')}/?$`),
}))

/** The methods a path answers to (GET implies HEAD), or undefined when no route has that path. */
export function allowedMethods(path: string): string[] | undefined {
  // a path whose %-escapes do not decode names nothing (/dashboard/%zz is not a dashboard)
  if (!isDecodable(path)) return undefined
  const match = matchers.find(({ pattern }) => pattern.test(path))
  if (!match) return undefined
  const methods = [...match.entry.methods]
  return methods.includes('GET') ? [...methods, 'HEAD'] : methods
}

function isDecodable(path: string): boolean {
  try {
    decodeURIComponent(path)
    return true
  } catch {
    return false
  }
}
