// The HTTP server around the Express app, and the transport events Express never sees: the
// timeouts, `Expect: 100-continue`, and a client that goes away before its body has arrived.
import { createServer, type IncomingMessage, type Server } from 'node:http'
import type { RequestListener } from 'node:http'
import type { Logger } from 'pino'
import { MAX_BODY_BYTES } from '#lib/http/route.ts'
import { getRuntime } from '#lib/platform/runtime.ts'
import { createLogger } from '#lib/platform/log.ts'

/** A request's whole life, body included; then Node answers 408 and closes the connection. */
export const REQUEST_TIMEOUT_MS = 30_000

/** The server `npm start` and the HTTP tests listen with. */
export function createHttpServer(app: RequestListener): Server {
  const server = createServer(app)
  server.requestTimeout = REQUEST_TIMEOUT_MS
  server.headersTimeout = 10_000
  server.keepAliveTimeout = 5_000
  // Without this listener Node answers every `Expect: 100-continue` with 100 Continue, inviting a
  // body that will only be refused. A declared body over the limit gets its 413 straight away
  // (the adapter does not read it, and closes the connection after the answer).
  server.on('checkContinue', (req: IncomingMessage, res) => {
    if (declaredLength(req) <= MAX_BODY_BYTES) res.writeContinue()
    server.emit('request', req, res)
  })
  return server
}

const declaredLength = (req: IncomingMessage) => Number(req.headers['content-length'] ?? 0)

/**
 * True when the request failed because its client is gone: it disconnected mid-body, or the
 * request timeout closed the connection. Node reports both as an "aborted" ECONNRESET.
 */
export function isClientGone(req: IncomingMessage, error: unknown): boolean {
  return (error as { code?: unknown } | null)?.code === 'ECONNRESET' || (req.destroyed && !req.complete)
}

let fallbackLog: Logger | undefined

/** The service's logger (the runtime's), or a process one while the runtime is not up. */
export async function adapterLog(): Promise<Logger> {
  return getRuntime().then(
    (runtime) => runtime.log,
    () => (fallbackLog ??= createLogger('info')),
  )
}

/** When a request arrived and from which peer (read then: a destroyed socket forgets its address). */
export interface Arrival {
  readonly at: number
  readonly peer: string | undefined
}

/**
 * An aborted request is an ordinary event, not a bug: one line at info, no stack (a slow-body
 * flood must not fill an SD card with traces), and the socket is closed.
 */
export async function logAbortedRequest(req: IncomingMessage, arrival: Arrival): Promise<void> {
  const line = {
    event: 'request_aborted',
    method: req.method,
    path: req.url?.split('?')[0]?.slice(0, 256),
    clientIp: arrival.peer,
    durationMs: Date.now() - arrival.at,
  }
  req.socket.destroy()
  const log = await adapterLog()
  log.info(line, 'client went away before the request body arrived')
}
