// Shared steps for the handler tests: one runtime per file, accounts made through the real
// handlers, and small readers for headers and cookies. Not a test file (vitest runs *.test.ts).
import { afterAll, beforeAll, expect } from 'vitest'
import type { APIGatewayProxyEventV2 } from 'aws-lambda'
import { handler as registerHandler } from '#functions/register.ts'
import { handler as loginHandler } from '#functions/login.ts'
import { LOCAL_API_ID } from '#lib/http/client.ts'
import type { Runtime } from '#lib/platform/runtime.ts'
import { lambdaContext } from '../../adapters/express-app.ts'
import { apiGatewayEvent, invoke, jsonBody, type EventInput } from './events.ts'
import { strongPassword, uniqueUsername } from './factories.ts'
import { databaseKinds, startTestRuntime, type TestRuntime } from './runtime.ts'

export type Result = Awaited<ReturnType<typeof invoke>>
type Handler = Parameters<typeof invoke>[0]

/** The host API Gateway events carry; their own origin is https://<host>. */
export const API_HOST = 'abc123.execute-api.eu-west-1.amazonaws.com'
export const OWN_ORIGIN = `https://${API_HOST}`
export const HTML = { accept: 'text/html' }
export const JSON_ACCEPT = { accept: 'application/json' }

/** Starts one runtime for this file (server database when available) and stops it after. */
export function useRuntime(env: Record<string, string> = {}): () => Runtime {
  let t: TestRuntime | undefined
  beforeAll(async () => {
    t = await startTestRuntime(databaseKinds()[0]!, env)
  })
  afterAll(() => t?.stop())
  return () => {
    if (!t) throw new Error('runtime not started')
    return t.runtime
  }
}

/** A header's value whatever the case of its name. */
export function header(result: { headers?: Record<string, unknown> }, name: string): string | undefined {
  const entry = Object.entries(result.headers ?? {}).find(([key]) => key.toLowerCase() === name.toLowerCase())
  return entry === undefined ? undefined : String(entry[1])
}

/** The Set-Cookie value for `name`, if the result sets it. */
export const setCookie = (result: { cookies?: string[] }, name: string) =>
  result.cookies?.find((cookie) => cookie.startsWith(`${name}=`))

/** Registers an account through the handler (one bcrypt hash). */
export async function signUp(username = uniqueUsername(), password = strongPassword()) {
  const result = await invoke(registerHandler, { path: '/register', json: { username, password } })
  expect(result.statusCode).toBe(201)
  return { username, password, id: jsonBody(result).user.id as string }
}

/** Signs in through the handler (one bcrypt comparison) and returns the token. */
export async function signIn(username: string, password: string): Promise<string> {
  const result = await invoke(loginHandler, { path: '/login', json: { username, password } })
  expect(result.statusCode).toBe(200)
  return jsonBody(result).access_token as string
}

/** A new account, signed in. */
export async function signedInUser(username?: string) {
  const account = await signUp(username)
  return { ...account, token: await signIn(account.username, account.password) }
}

export const bearer = (token: string) => ({ authorization: `Bearer ${token}` })

/** An event as the Express adapter builds it: plain HTTP on the LAN unless a trusted proxy says otherwise. */
export async function invokeLocal(handler: Handler, input: EventInput & { host?: string } = {}): Promise<Result> {
  const host = input.host ?? '192.168.1.20:8085'
  const event: APIGatewayProxyEventV2 = apiGatewayEvent({ ...input, headers: { host, ...input.headers } })
  event.requestContext.apiId = LOCAL_API_ID
  event.requestContext.accountId = 'local'
  event.requestContext.domainName = host
  event.requestContext.http.sourceIp = input.sourceIp ?? '192.168.1.50'
  const result = (await handler(event as never, lambdaContext('test') as never)) as Result
  return { ...result, statusCode: result.statusCode ?? 200, headers: (result.headers ?? {}) as Record<string, string> }
}
