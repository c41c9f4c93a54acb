// API Gateway HTTP API (payload 2.0) events, as Lambda hands them to a handler.
import { randomUUID } from 'node:crypto'
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda'
import { LOCAL_API_ID } from '#lib/http/client.ts'
import { lambdaContext } from '../../adapters/express-app.ts'

export interface EventInput {
  method?: string
  path?: string
  headers?: Record<string, string>
  /** A JSON body (object or raw string); sets content-type: application/json unless given. */
  json?: unknown
  /** A form body; sets content-type: application/x-www-form-urlencoded. */
  form?: Record<string, string | string[]>
  body?: string
  cookies?: string[]
  pathParameters?: Record<string, string>
  query?: Record<string, string>
  sourceIp?: string
}

/** An event as API Gateway builds it (HTTPS, the client's address in sourceIp). */
export function apiGatewayEvent(input: EventInput = {}): APIGatewayProxyEventV2 {
  const method = input.method ?? (input.json !== undefined || input.form || input.body !== undefined ? 'POST' : 'GET')
  const path = input.path ?? '/'
  const headers: Record<string, string> = { host: 'abc123.execute-api.eu-west-1.amazonaws.com', ...input.headers }
  let body = input.body
  if (input.json !== undefined) {
    body = typeof input.json === 'string' ? input.json : JSON.stringify(input.json)
    headers['content-type'] ??= 'application/json'
  }
  if (input.form) {
    const params = new URLSearchParams()
    for (const [key, value] of Object.entries(input.form)) for (const v of [value].flat()) params.append(key, v)
    body = params.toString()
    headers['content-type'] ??= 'application/x-www-form-urlencoded'
  }
  const query = input.query ? new URLSearchParams(input.query).toString() : ''
  return {
    version: '2.0',
    routeKey: `${method} ${path}`,
    rawPath: path,
    rawQueryString: query,
    cookies: input.cookies,
    headers,
    queryStringParameters: input.query,
    pathParameters: input.pathParameters,
    isBase64Encoded: false,
    body,
    requestContext: {
      accountId: '123456789012',
      apiId: 'abc123',
      domainName: headers.host!,
      domainPrefix: 'abc123',
      http: { method, path, protocol: 'HTTP/1.1', sourceIp: input.sourceIp ?? '203.0.113.7', userAgent: 'vitest' },
      requestId: randomUUID(),
      routeKey: `${method} ${path}`,
      stage: '$default',
      time: new Date().toISOString(),
      timeEpoch: Date.now(),
    },
  }
}

type Handler = (event: never, context: never) => Promise<unknown>

/** Invokes a Middy handler as Lambda would and returns its structured result. */
export async function invoke(
  handler: Handler,
  input: EventInput = {},
): Promise<APIGatewayProxyStructuredResultV2 & { statusCode: number; headers: Record<string, string> }> {
  const result = (await handler(
    apiGatewayEvent(input) as never,
    lambdaContext('test') as never,
  )) as APIGatewayProxyStructuredResultV2
  return { ...result, statusCode: result.statusCode ?? 200, headers: (result.headers ?? {}) as Record<string, string> }
}

/** Parses a JSON or problem+json body. */
export const jsonBody = (result: { body?: string }) => JSON.parse(result.body ?? 'null')

/** An event as the Express adapter builds it: plain HTTP on the LAN unless a trusted proxy says otherwise. */
export async function invokeLocal(handler: Handler, input: EventInput & { host?: string } = {}) {
  const host = input.host ?? '192.168.1.20:8085'
  const event = apiGatewayEvent({ ...input, headers: { host, ...input.headers } })
  event.requestContext.apiId = LOCAL_API_ID
  event.requestContext.accountId = 'local'
  event.requestContext.domainName = host
  event.requestContext.http.sourceIp = input.sourceIp ?? '192.168.1.50'
  const result = (await handler(event as never, lambdaContext('test') as never)) as APIGatewayProxyStructuredResultV2
  return { ...result, statusCode: result.statusCode ?? 200, headers: (result.headers ?? {}) as Record<string, string> }
}
