// The one way a test starts the service: `useService({ transport, env })`.
//
// - transport 'lambda': each request becomes the API Gateway v2 event Lambda would deliver (HTTPS,
//   host API_HOST, so cookies are `__Host-` prefixed) and the route's Middy handler is invoked
//   directly, as in the cloud.
// - transport 'http': the Express adapter on a real port, as `npm start` runs it (plain HTTP on
//   127.0.0.1, so the cookie is `session`).
//
// Both hand back the same `Client` (tests/helpers/http.ts), so one scenario table runs on both.
import type { AddressInfo } from 'node:net'
import type { Server } from 'node:http'
import { afterAll, beforeAll, expect } from 'vitest'
import { matchRoute } from '#lib/http/routes.ts'
import { createApp, lambdaContext, loadRouteChain } from '../../adapters/express-app.ts'
import { createHttpServer } from '../../adapters/http-server.ts'
import { apiGatewayEvent } from './events.ts'
import { strongPassword, uniqueUsername } from './factories.ts'
import { client, CookieJar, type Client, type Reply } from './http.ts'
import { databaseKinds, startTestRuntime, type DatabaseKind, type TestRuntime } from './runtime.ts'

export type Transport = 'lambda' | 'http'
export const TRANSPORTS: readonly Transport[] = ['lambda', 'http']

/** The host API Gateway events carry; their own origin is https://<host>. */
export const API_HOST = 'abc123.execute-api.eu-west-1.amazonaws.com'

/** Many hostile logins from one address are the point of some files; throttling has its own tests. */
export const LOOSE_THROTTLE = { LOGIN_MAX_FAILURES: '1000', LOGIN_CLIENT_MAX_FAILURES: '100000' }

/** Only the fields a sign-in form has. */
export const credentialsOf = ({ username, password }: Pick<Account, 'username' | 'password'>) => ({
  username,
  password,
})

export interface ServiceOptions {
  /** 'http' unless given. */
  transport?: Transport
  env?: Record<string, string>
  /** The first kind available (the server database when TEST_DATABASE_URL is set) unless given. */
  kind?: DatabaseKind
  /** Reuse a DATA_DIR (a restart); a fresh temporary one otherwise. */
  dataDir?: string
  /** Keep the service's log lines (at info level, the real logger and redaction) for assertions. */
  captureLogs?: boolean
  /** The service's clock (runtime.clock): a test moves time by moving it (tests/helpers/runtime.ts). */
  clock?: () => Date
}

export interface Account {
  username: string
  password: string
  id: string
  created_at: string
}

/** The account's `user` as the service answers it (GET /account, the dashboard) after one sign-in. */
export const userAfterFirstSignIn = (account: Account) => ({
  id: account.id,
  username: account.username,
  created_at: account.created_at,
  last_login_time: expect.any(String),
  previous_login_time: null,
})

export interface TestService extends TestRuntime {
  transport: Transport
  /** The service's own origin (what a browser sends as Origin on its own form posts). */
  origin: string
  /** The session cookie's name on this transport. */
  sessionCookie: '__Host-session' | 'session'
  /** http://127.0.0.1:<port> (transport 'http' only; the Lambda transport has no port). */
  baseUrl: string
  http: Client
  /** Registers a fresh account over JSON (201 expected). */
  register(prefix?: string, password?: string): Promise<Account>
  /** Signs in over JSON and returns the bearer token. */
  apiLogin(account: Pick<Account, 'username' | 'password'>): Promise<string>
  /** Signs in with the form, as a browser does, and returns the jar holding the session cookie. */
  browserLogin(account: Pick<Account, 'username' | 'password'>, jar?: CookieJar): Promise<CookieJar>
  /** GET /dashboard/<username> as an API client. */
  dashboard(username: string, token: string): Promise<Reply>
  /** What must never leave the server: the signing secret, and the account's password when given. */
  secretsOf(account?: Pick<Account, 'password'>): string[]
  stopServer(): Promise<void>
}

/** Starts the service with test settings (tests/helpers/runtime.ts) on the transport asked for. */
export async function startService(options: ServiceOptions = {}): Promise<TestService> {
  const transport = options.transport ?? 'http'
  const testRuntime = await startTestRuntime(options.kind ?? databaseKinds()[0]!, options.env ?? {}, options.dataDir, {
    captureLogs: options.captureLogs,
    clock: options.clock,
  })
  const front = transport === 'http' ? await listen() : lambdaFront()
  const http = front.http
  const service: TestService = {
    ...testRuntime,
    transport,
    origin: front.origin,
    sessionCookie: transport === 'http' ? 'session' : '__Host-session',
    baseUrl: front.origin,
    http,
    async register(prefix = 'user', password = strongPassword()) {
      const username = uniqueUsername(prefix)
      const reply = await http.postJson('/register', { username, password })
      expect(reply.status, reply.text).toBe(201)
      return { username, password, id: reply.json.user.id as string, created_at: reply.json.user.created_at as string }
    },
    async apiLogin(account) {
      const reply = await http.postJson('/login', { username: account.username, password: account.password })
      expect(reply.status, reply.text).toBe(200)
      return reply.json.access_token as string
    },
    async browserLogin(account, jar = new CookieJar()) {
      const reply = await http.postForm('/login', { username: account.username, password: account.password }, { jar })
      expect(reply.status, reply.text).toBe(303)
      expect(jar.get(service.sessionCookie)).toBeTruthy()
      return jar
    },
    dashboard: (username, token) => http.getJson(`/dashboard/${encodeURIComponent(username)}`, { bearer: token }),
    secretsOf: (account) => [testRuntime.runtime.jwtSecret, ...(account ? [account.password] : [])],
    stopServer: front.stop,
    async stop(stopOptions) {
      await front.stop()
      await testRuntime.stop(stopOptions)
    },
  }
  return service
}

/**
 * One service for the calling file (or describe block): started before its tests, stopped after
 * them. The object returned is filled in when the start has finished: read its fields inside tests.
 */
export function useService(options: ServiceOptions = {}): TestService {
  const service = {} as TestService
  beforeAll(async () => void Object.assign(service, await startService(options)))
  afterAll(async () => service.stop?.())
  return service
}

async function listen() {
  // as `npm start` does right after the port opens: the first request does not pay for the chain
  await loadRouteChain()
  const server: Server = createHttpServer(await createApp()).listen(0, '127.0.0.1')
  await new Promise((resolve) => server.once('listening', resolve))
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  const stop = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections()
      server.close(() => resolve())
    })
  return { origin, http: client(origin), stop }
}

type LambdaHandler = (event: unknown, context: unknown) => Promise<LambdaResult>
interface LambdaResult {
  statusCode?: number
  headers?: Record<string, string | number | boolean>
  cookies?: string[]
  body?: string
  isBase64Encoded?: boolean
}

/** A fetch that routes by the route table and invokes the handler with the event API Gateway would build. */
function lambdaFront() {
  const origin = `https://${API_HOST}`
  const lambdaFetch = async (url: URL, init: RequestInit): Promise<Response> => {
    const method = init.method ?? 'GET'
    const headers = Object.fromEntries(new Headers(init.headers))
    const cookieHeader = headers.cookie
    delete headers.cookie
    const match = matchRoute(method, url.pathname)
    const event = apiGatewayEvent({ method, path: url.pathname, headers, body: init.body as string | undefined })
    Object.assign(event, {
      routeKey: match.routeKey,
      rawQueryString: url.search.slice(1),
      queryStringParameters: url.search ? Object.fromEntries(url.searchParams) : undefined,
      pathParameters: match.pathParameters,
      cookies: cookieHeader?.split(/;\s*/).filter(Boolean),
    })
    event.requestContext.routeKey = match.routeKey
    const module = (await import(`../../functions/${match.name}.ts`)) as { handler: LambdaHandler }
    const result = await module.handler(event, lambdaContext(match.name))
    const answer = new Headers()
    for (const [name, value] of Object.entries(result.headers ?? {})) answer.set(name, String(value))
    for (const cookie of result.cookies ?? []) answer.append('set-cookie', cookie)
    const body = result.isBase64Encoded && result.body ? Buffer.from(result.body, 'base64') : result.body
    const status = result.statusCode ?? 200
    return new Response(status === 204 || status === 304 ? null : (body ?? null), { status, headers: answer })
  }
  return { origin, http: client(origin, lambdaFetch), stop: async () => {} }
}
