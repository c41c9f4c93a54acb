// The Express adapter: each request becomes the API Gateway HTTP API (payload 2.0) event Lambda
// would deliver, the route's Middy handler runs unchanged, and its structured result is written
// back (several Set-Cookie included). It decides nothing: no parsing, no auth, no error wording.
import { randomUUID } from 'node:crypto'
import type { IncomingMessage } from 'node:http'
import express, { type Request, type Response } from 'express'
import type { APIGatewayProxyEventV2, Context } from 'aws-lambda'
import { matchRoute, type FunctionName, type RouteMatch } from '#lib/http/routes.ts'
import { LOCAL_API_ID } from '#lib/http/client.ts'
import type { RouteResult } from '#lib/http/event.ts'
import { MAX_BODY_BYTES } from '#lib/http/body.ts'
import { Problem } from '#lib/problem.ts'
import { problemJson } from '#lib/http/problem-json.ts'
import { adapterLog, isClientGone, logAbortedRequest } from './http-server.ts'

type LambdaHandler = (event: APIGatewayProxyEventV2, context: Context) => Promise<RouteResult>

// functions/<name>.ts, imported at its first request: an idle gateway holds only the routes it has
// served, and from the image's bundle an import takes a few milliseconds (docs/decisions/021)
const handlers = new Map<FunctionName, Promise<LambdaHandler>>()
const loadHandler = (name: FunctionName) => {
  let handler = handlers.get(name)
  if (!handler) {
    handler = import(`../functions/${name}.ts`).then((module) => (module as { handler: LambdaHandler }).handler)
    handlers.set(name, handler)
  }
  return handler
}

/** Imports /health's handler, and with it the Middy chain and the modules every route shares. */
export async function loadRouteChain(): Promise<void> {
  await loadHandler('health')
}

/** An Express app that routes every request by the route table (lib/http/routes.ts), as API Gateway would. */
export async function createApp(): Promise<express.Express> {
  const app = express()
  app.disable('x-powered-by')
  app.disable('etag')
  app.use((req, res) => {
    const match = matchRoute(req.method, splitTarget(req.originalUrl).path)
    return invoke(match)(req, res)
  })
  return app
}

function invoke(match: RouteMatch) {
  return async (req: Request, res: Response) => {
    const arrival = { at: Date.now(), peer: req.socket.remoteAddress }
    try {
      // a request without Content-Length or Transfer-Encoding has no body (RFC 9112 §6.3): nothing to wait for
      const body = hasBody(req) ? await readBody(req) : undefined
      const handler = await loadHandler(match.name)
      const event = toEvent(req, body, match)
      const result = await handler(event, lambdaContext(match.name, event.requestContext.requestId))
      // an unread (oversized) body is not worth keeping the connection for
      if (!req.complete) res.set('connection', 'close')
      writeResult(res, result)
    } catch (error) {
      if (isClientGone(req, error)) return logAbortedRequest(req, arrival)
      // the handlers answer every error themselves; reaching here is a bug in this adapter
      const log = await adapterLog()
      log.error({ event: 'adapter_failed', err: error }, 'adapter error')
      if (!res.headersSent) writeResult(res, problemJson(new Problem('internal_error')))
    }
  }
}

const hasBody = (req: IncomingMessage) =>
  req.headers['content-length'] !== undefined || req.headers['transfer-encoding'] !== undefined

/** Reads at most MAX_BODY_BYTES + 1 bytes: enough for the handler to see that a body is too large. */
async function readBody(req: IncomingMessage): Promise<Buffer | undefined> {
  if (Number(req.headers['content-length'] ?? 0) > MAX_BODY_BYTES) return undefined
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let size = 0
    const done = () => {
      req.off('data', onData).off('end', done).off('error', reject).off('close', closed)
      resolve(size ? Buffer.concat(chunks) : undefined)
    }
    // a stream destroyed without an error event must not leave this promise (and its chunks) pending
    const closed = () => {
      if (!req.complete) reject(Object.assign(new Error('aborted'), { code: 'ECONNRESET' }))
    }
    const onData = (chunk: Buffer) => {
      chunks.push(chunk)
      size += chunk.length
      if (size > MAX_BODY_BYTES) {
        req.pause()
        done()
      }
    }
    req.on('data', onData).on('end', done).on('error', reject).on('close', closed)
  })
}

/** The request target is a path (it may start with //, which URL() would read as a host) and a query. */
function splitTarget(target: string): { path: string; search: string } {
  const queryAt = target.indexOf('?')
  return queryAt === -1
    ? { path: target, search: '' }
    : { path: target.slice(0, queryAt), search: target.slice(queryAt + 1) }
}

export function toEvent(
  req: Request,
  body: Buffer | undefined,
  { routeKey, pathParameters }: RouteMatch,
): APIGatewayProxyEventV2 {
  const headers: Record<string, string> = {}
  const incoming = req.headers
  for (const name in incoming) {
    const value = incoming[name]
    if (value !== undefined && name !== 'cookie') headers[name] = Array.isArray(value) ? value.join(',') : value
  }
  // Node keeps only the first of repeated Host headers; passed on joined, as API Gateway joins
  // repeated headers, they are refused by the host check (RFC 9112 §3.2)
  const hosts: string[] = []
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    const name = req.rawHeaders[i]!
    // the length first: lower-casing every other name would make a string of each on every request
    if (name.length === 4 && name.toLowerCase() === 'host') hosts.push(req.rawHeaders[i + 1]!)
  }
  if (hosts.length > 1) headers.host = hosts.join(',')
  const { path, search } = splitTarget(req.originalUrl)
  let query: Record<string, string> | undefined
  if (search) {
    query = {}
    for (const [key, value] of new URLSearchParams(search)) query[key] = key in query ? `${query[key]},${value}` : value
  }
  const now = Date.now()
  return {
    version: '2.0',
    routeKey,
    rawPath: path,
    rawQueryString: search,
    // API Gateway hands cookies over separately from the other headers
    cookies: req.headers.cookie ? req.headers.cookie.split(/;\s*/).filter(Boolean) : undefined,
    headers,
    queryStringParameters: query,
    pathParameters,
    isBase64Encoded: false,
    body: body?.toString('utf8'),
    requestContext: {
      accountId: 'local',
      apiId: LOCAL_API_ID,
      domainName: req.headers.host ?? 'localhost',
      domainPrefix: (req.headers.host ?? 'localhost').split('.')[0]!,
      http: {
        method: req.method,
        path,
        protocol: `HTTP/${req.httpVersion}`,
        sourceIp: req.socket.remoteAddress ?? '',
        userAgent: req.headers['user-agent'] ?? '',
      },
      requestId: randomUUID(),
      routeKey,
      stage: '$default',
      time: new Date(now).toISOString(),
      timeEpoch: now,
    },
  }
}

const remainingTime = () => 60_000
const nothing = () => {}

/** The Lambda context of one request; its awsRequestId is the event's requestId (one random UUID a request). */
export function lambdaContext(functionName: string, requestId: string = randomUUID()): Context {
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `local:${functionName}`,
    memoryLimitInMB: '0',
    awsRequestId: requestId,
    logGroupName: 'local',
    logStreamName: 'local',
    getRemainingTimeInMillis: remainingTime,
    done: nothing,
    fail: nothing,
    succeed: nothing,
  }
}

// Express's res.set adds the charset to a Content-Type without one; its answer for each value (the
// routes send a handful) is remembered, so that the headers reach Node in one writeHead: Node then
// writes them as they are, without a setHeader (an array and a lower-cased name) for each
const contentTypes = new Map<string, string>()
const MAX_CONTENT_TYPES = 64
function contentTypeOf(res: Response, value: string): string {
  let type = contentTypes.get(value)
  if (type === undefined) {
    type = String(res.set('content-type', value).get('content-type'))
    res.removeHeader('content-type')
    if (contentTypes.size < MAX_CONTENT_TYPES) contentTypes.set(value, type)
  }
  return type
}

/** Node sends a body (and its length) but for HEAD, 1xx, 204 and 304 (RFC 9110 §6.4.1). */
const bodyAllowed = (res: Response, status: number) =>
  res.req.method !== 'HEAD' && status >= 200 && status !== 204 && status !== 304

function writeResult(res: Response, result: RouteResult): void {
  res.status(result.statusCode)
  const headers: Record<string, string | string[]> = {}
  for (const name in result.headers) {
    const value = String(result.headers[name])
    headers[name] = name.toLowerCase() === 'content-type' ? contentTypeOf(res, value) : value
  }
  if (result.cookies?.length) headers['set-cookie'] = result.cookies
  const body =
    result.body === undefined ? undefined : result.isBase64Encoded ? Buffer.from(result.body, 'base64') : result.body
  // what end() would have added had the headers not been written first
  if (bodyAllowed(res, result.statusCode))
    headers['Content-Length'] = String(body === undefined ? 0 : Buffer.byteLength(body))
  res.writeHead(result.statusCode, headers)
  res.end(body)
}
