// The Express adapter: each request becomes the API Gateway HTTP API (payload 2.0) event Lambda
// would deliver, the route's Middy handler runs unchanged, and its structured result is written
// back (several Set-Cookie included). It decides nothing: no parsing, no auth, no error wording.
import { randomUUID } from 'node:crypto'
import type { IncomingMessage } from 'node:http'
import express, { type Request, type Response } from 'express'
import type { APIGatewayProxyEventV2, Context } from 'aws-lambda'
import { ROUTES } from '#lib/routes.ts'
import { LOCAL_API_ID } from '#lib/client.ts'
import { MAX_BODY_BYTES, type RouteResult } from '#lib/http.ts'
import { problemJson, Problem } from '#lib/problem.ts'

type LambdaHandler = (event: APIGatewayProxyEventV2, context: Context) => Promise<RouteResult>

/** An Express app serving every route of lib/routes.ts, then not-found for the rest. */
export async function createApp(): Promise<express.Express> {
  const app = express()
  app.disable('x-powered-by')
  app.disable('etag')
  for (const { path, methods, name } of ROUTES) {
    const { handler } = (await import(`../functions/${name}.ts`)) as unknown as { handler: LambdaHandler }
    for (const method of methods) app[method === 'GET' ? 'get' : 'post'](path, invoke(handler, `${method} ${path}`))
  }
  const { handler: notFound } = (await import('../functions/not-found.ts')) as unknown as { handler: LambdaHandler }
  app.use(invoke(notFound, '$default'))
  // Express's router refuses a path parameter that does not %-decode (/dashboard/%zz) by throwing;
  // such a path names no route, so it gets the not-found handler's answer like any other
  app.use((_error: unknown, req: Request, res: Response, _next: express.NextFunction) => invoke(notFound, '$default')(req, res))
  return app
}

function invoke(handler: LambdaHandler, routeKey: string) {
  return async (req: Request, res: Response) => {
    try {
      const body = await readBody(req)
      const result = await handler(toEvent(req, body, routeKey), lambdaContext(routeKey))
      // an unread (oversized) body is not worth keeping the connection for
      if (!req.complete) res.set('connection', 'close')
      writeResult(res, result)
    } catch (error) {
      // the handlers answer every error themselves; reaching here is a bug in this adapter
      console.error('gateway-auth adapter error', error)
      if (!res.headersSent) writeResult(res, problemJson(new Problem('internal_error')))
    }
  }
}

/** Reads at most MAX_BODY_BYTES + 1 bytes: enough for the handler to see that a body is too large. */
async function readBody(req: IncomingMessage): Promise<Buffer | undefined> {
  if (Number(req.headers['content-length'] ?? 0) > MAX_BODY_BYTES) return undefined
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let size = 0
    const done = () => {
      req.off('data', onData).off('end', done).off('error', reject)
      resolve(size ? Buffer.concat(chunks) : undefined)
    }
    const onData = (chunk: Buffer) => {
      chunks.push(chunk)
      size += chunk.length
      if (size > MAX_BODY_BYTES) {
        req.pause()
        done()
      }
    }
    req.on('data', onData).on('end', done).on('error', reject)
  })
}

export function toEvent(req: Request, body: Buffer | undefined, routeKey: string): APIGatewayProxyEventV2 {
  const headers: Record<string, string> = {}
  for (const [name, value] of Object.entries(req.headers)) {
    if (value !== undefined && name !== 'cookie') headers[name] = Array.isArray(value) ? value.join(',') : value
  }
  // the request target is a path (it may start with //, which URL() would read as a host) and a query
  const target = req.originalUrl
  const queryAt = target.indexOf('?')
  const path = queryAt === -1 ? target : target.slice(0, queryAt)
  const search = queryAt === -1 ? '' : target.slice(queryAt + 1)
  const query: Record<string, string> = {}
  for (const [key, value] of new URLSearchParams(search)) query[key] = key in query ? `${query[key]},${value}` : value
  const now = Date.now()
  return {
    version: '2.0',
    routeKey,
    rawPath: path,
    rawQueryString: search,
    // API Gateway hands cookies over separately from the other headers
    cookies: req.headers.cookie ? req.headers.cookie.split(/;\s*/).filter(Boolean) : undefined,
    headers,
    queryStringParameters: search ? query : undefined,
    pathParameters: Object.keys(req.params ?? {}).length ? { ...req.params } as Record<string, string> : undefined,
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

export function lambdaContext(functionName: string): Context {
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `local:${functionName}`,
    memoryLimitInMB: '0',
    awsRequestId: randomUUID(),
    logGroupName: 'local',
    logStreamName: 'local',
    getRemainingTimeInMillis: () => 60_000,
    done: () => {},
    fail: () => {},
    succeed: () => {},
  }
}

function writeResult(res: Response, result: RouteResult): void {
  res.status(result.statusCode)
  for (const [name, value] of Object.entries(result.headers ?? {})) res.set(name, String(value))
  for (const cookie of result.cookies ?? []) res.append('set-cookie', cookie)
  if (result.body === undefined) res.end()
  else res.end(result.isBase64Encoded ? Buffer.from(result.body, 'base64') : result.body)
}
