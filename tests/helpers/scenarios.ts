// Scenario tables (after pocketbase's ApiScenario): each row is a name, who asks, a request and what
// must come back. The same table runs as Lambda runs it (the route's handler invoked with an API
// Gateway event) and over HTTP (the Express adapter on a real port); every answer is also checked
// against the OpenAPI document the specs make, and never carries the asking account's secrets.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { matchRoute } from '#lib/http/routes.ts'
import { apiGatewayEvent, invoke } from './events.ts'
import { expectConforms, type SeenResponse } from './openapi.ts'
import { strongPassword, uniqueUsername } from './factories.ts'
import { client } from './http.ts'
import { startService } from './server.ts'
import { databaseKinds, startTestRuntime } from './runtime.ts'

export type Transport = 'lambda' | 'http'
export const TRANSPORTS: readonly Transport[] = ['lambda', 'http']

export interface Account {
  readonly username: string
  readonly password: string
  readonly token: string
}

export interface Scenario {
  readonly name: string
  /** Who asks: nobody (the default), a new signed-in account, or one whose session has been signed out. */
  readonly as?: 'signed-in' | 'signed-out'
  /** `{username}` in the path is the asking account's name. */
  readonly request: { method: 'GET' | 'POST'; path: string; json?: unknown; headers?: Record<string, string> }
  readonly expect: {
    readonly status: number
    readonly code?: string
    /** A subset the JSON body must contain (a function of the asking account). */
    readonly json?: (account: Account) => unknown
    /** Text the body must not contain (besides the account's password, always checked). */
    readonly absent?: readonly string[]
  }
}

interface Answer extends SeenResponse {
  json: any
}
type Send = (request: Scenario['request'], token?: string) => Promise<Answer>

const answerOf = (status: number, headers: Headers, text: string): Answer => {
  const contentType = headers.get('content-type') ?? ''
  return { status, headers, text, contentType, json: /json/.test(contentType) ? JSON.parse(text) : undefined }
}

async function lambdaSend(request: Scenario['request'], token?: string): Promise<Answer> {
  const match = matchRoute(request.method, request.path)
  const { handler } = await import(`../../functions/${match.name}.ts`)
  const result = await invoke(handler, {
    method: request.method,
    path: request.path,
    pathParameters: match.pathParameters,
    json: request.json,
    headers: { accept: 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}), ...request.headers },
  })
  const headers = new Headers(result.headers)
  for (const cookie of result.cookies ?? []) headers.append('set-cookie', cookie)
  return answerOf(result.statusCode, headers, result.body ?? '')
}

/** Starts what `transport` needs for the calling block, and returns how to send a request through it. */
function useTransport(transport: Transport, env: Record<string, string>): Send {
  let send: Send | undefined
  let stop: (() => Promise<unknown>) | undefined
  beforeAllStart(
    async () => {
      const kind = databaseKinds()[0]!
      if (transport === 'lambda') {
        const runtime = await startTestRuntime(kind, env)
        stop = () => runtime.stop()
        send = lambdaSend
        return
      }
      const service = await startService(kind, env)
      stop = () => service.stop()
      const http = client(service.baseUrl)
      send = async (request, token) => {
        const reply = await http.call(request.path, {
          method: request.method,
          json: request.json,
          bearer: token,
          headers: { accept: 'application/json', ...request.headers },
        })
        return answerOf(reply.status, reply.headers, reply.text)
      }
    },
    () => stop?.(),
  )
  return (request, token) => {
    if (!send) throw new Error('transport not started')
    return send(request, token)
  }
}

function beforeAllStart(start: () => Promise<void>, stop: () => unknown) {
  beforeAll(start)
  afterAll(async () => {
    await stop()
  })
}

async function newAccount(send: Send, signedOut: boolean): Promise<Account> {
  const username = uniqueUsername('sc')
  const password = strongPassword()
  expect((await send({ method: 'POST', path: '/register', json: { username, password } })).status).toBe(201)
  const login = await send({ method: 'POST', path: '/login', json: { username, password } })
  expect(login.status).toBe(200)
  const token = login.json.access_token as string
  if (signedOut) expect((await send({ method: 'POST', path: '/logout', json: {} }, token)).status).toBe(204)
  return { username, password, token }
}

/** Runs `scenarios` through every transport, each in a describe block of its own. */
export function runScenarios(title: string, scenarios: readonly Scenario[], env: Record<string, string> = {}) {
  describe.each(TRANSPORTS)(`${title} via %s`, (transport) => {
    const send = useTransport(transport, env)
    it.each(scenarios.map((scenario) => [scenario.name, scenario] as const))('%s', async (_name, scenario) => {
      const account = scenario.as ? await newAccount(send, scenario.as === 'signed-out') : undefined
      const path = scenario.request.path.replace('{username}', encodeURIComponent(account?.username ?? ''))
      const answer = await send({ ...scenario.request, path }, account?.token)
      expect(answer.status, answer.text.slice(0, 300)).toBe(scenario.expect.status)
      expectConforms(scenario.request.method, matchRoute(scenario.request.method, path).routeKey.split(' ')[1]!, answer)
      if (scenario.expect.code) expect(answer.json?.code).toBe(scenario.expect.code)
      if (scenario.expect.json && account) expect(answer.json).toMatchObject(scenario.expect.json(account) as object)
      for (const secret of [...(scenario.expect.absent ?? []), ...(account ? [account.password] : [])]) {
        expect(answer.text).not.toContain(secret)
      }
    })
  })
}
