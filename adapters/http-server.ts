// The HTTP server around the Express app, and the transport events Express never sees: the
// timeouts, `Expect: 100-continue`, a client that goes away before its body has arrived, and the
// connection and memory limits (lib/http/connection-limits.ts, docs/decisions/012) that keep a
// flood of connections or half-sent bodies from exhausting the heap.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { RequestListener } from 'node:http'
import type { Socket } from 'node:net'
import type { Logger } from 'pino'
import proxyAddr from 'proxy-addr'
import { MAX_BODY_BYTES } from '#lib/http/body.ts'
import { BodyBudget, ConnectionTable, bodyBytesToRead, type Refusal } from '#lib/http/connection-limits.ts'
import { problemJson } from '#lib/http/problem-json.ts'
import { Problem } from '#lib/problem.ts'
import { clientKey } from '#lib/auth/throttle.ts'
import { loadConfig, type Config } from '#lib/platform/config.ts'
import { getRuntime, startedRuntime } from '#lib/platform/runtime.ts'
import { createLogger } from '#lib/platform/log.ts'
import { logBudgetFor, type LogBudget } from '#lib/platform/log-budget.ts'
import { watchHeap, type HeapGauge } from '#lib/platform/heap-gauge.ts'

const HEADERS_TIMEOUT_MS = 10_000
// Node checks the request and headers deadlines this often; its default (30 s) would let a
// half-sent request live up to twice REQUEST_TIMEOUT_SECONDS
const DEADLINE_CHECK_MS = 1_000
/** A refused body may be sent again this soon: the bodies being read take well under a second. */
export const BODY_RETRY_AFTER_SECONDS = 1

export interface HttpServerOptions {
  /** The heap's state (tests pass their own); by default V8's, sampled every 250 ms. */
  readonly heap?: HeapGauge
  readonly log?: Logger
  /** The refusal lines' budget (tests pass their own); by default the one of `log`, shared with the routes. */
  readonly logBudget?: LogBudget
}

/**
 * The server `npm start` and the HTTP tests listen with, under `config`'s limits and TRUST_PROXY
 * (by default the started runtime's, else the defaults).
 */
export function createHttpServer(
  app: RequestListener,
  config: Pick<Config, 'limits' | 'trustProxy'> = startedRuntime()?.config ?? loadConfig({}),
  options: HttpServerOptions = {},
): Server {
  const { limits } = config
  const log = options.log ?? startedRuntime()?.log ?? createLogger('info')
  const heap = options.heap ?? watchHeap(limits.heapShedPercent)
  const logBudget = options.logBudget ?? logBudgetFor(log)
  // a refusal line, when the budget has room for one of its kind (lib/platform/log-budget.ts)
  const note: Note = (kind, line, message) => {
    if (logBudget.admit(kind, Date.now())) log.info(line, message)
  }
  const bodies = new BodyBudget(limits.bodyBytesInFlight)
  const trusted = config.trustProxy.length ? proxyAddr.compile([...config.trustProxy]) : () => false
  // the request each socket is answering: a connection is not closed for a newcomer while its
  // request has fully arrived and is being answered
  const answering = new WeakMap<Socket, IncomingMessage>()
  const table = new ConnectionTable<Socket>(limits, (socket) => !answering.get(socket)?.complete)
  const requestTimeout = limits.requestTimeoutSeconds * 1000

  const server = createServer(
    {
      requestTimeout,
      headersTimeout: Math.min(HEADERS_TIMEOUT_MS, requestTimeout),
      keepAliveTimeout: 5_000,
      connectionsCheckingInterval: DEADLINE_CHECK_MS,
    },
    (req, res) => {
      if (admitBody(req, res, { bodies, heap, note })) app(req, res)
    },
  )
  // The table keeps to MAX_CONNECTIONS; closed sockets leave Node's own count a little later. Beyond
  // twice the limit Node closes a new connection before it becomes a socket object, the cheapest refusal.
  server.maxConnections = 2 * limits.connections
  server.on('drop', (data?: { remoteAddress?: string }) => {
    const line = { event: 'connection_refused', reason: 'connections', clientIp: data?.remoteAddress }
    note('connection_refused:connections', line, `connection refused: ${REFUSALS.connections}`)
  })
  server.on('connection', (socket: Socket) => admitConnection(socket, { table, heap, note, trusted }))
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    answering.set(req.socket, req)
    res.once('close', () => answering.delete(req.socket))
  })
  // Without this listener Node answers every `Expect: 100-continue` with 100 Continue, inviting a
  // body that will only be refused. A declared body over the limit gets its 413 straight away
  // (the adapter does not read it, and closes the connection after the answer), one over the
  // budget its 503 (admitBody).
  server.on('checkContinue', (req: IncomingMessage, res) => {
    const declared = declaredLength(req)
    if (declared <= MAX_BODY_BYTES && !heap.isShort() && bodies.fits(bodyBytesToRead(req.headers))) res.writeContinue()
    server.emit('request', req, res)
  })
  server.on('clientError', (error: Error & { code?: string }, socket: Socket) => answerClientError(error, socket))
  server.on('close', () => {
    logBudget.flush()
    if (!options.heap) heap.stop()
  })
  return server
}

type Note = (kind: string, line: Record<string, unknown>, message: string) => void

interface Guards {
  readonly heap: HeapGauge
  readonly note: Note
}

/** Counts a new connection in under the per-client limits, or closes it at once (no answer: nothing was asked). */
function admitConnection(
  socket: Socket,
  {
    table,
    heap,
    note,
    trusted,
  }: Guards & { table: ConnectionTable<Socket>; trusted: (address: string, hop: number) => boolean },
): void {
  const peer = socket.remoteAddress
  if (peer === undefined) return void socket.destroy()
  // one client as throttling counts one: an IPv6 host owns its /64
  const client = clientKey(peer)
  const admission = table.admit(client, socket, { heapShort: heap.isShort(), trustedProxy: trusted(peer, 0) })
  if (admission.admitted) {
    socket.once('close', () => table.release(client, socket))
    if (admission.evict) {
      const evicted = admission.evict
      const line = { event: 'connection_evicted', clientIp: evicted.remoteAddress, for: peer }
      evicted.destroy()
      note('connection_evicted', line, 'connection closed for a client holding fewer (MAX_CONNECTIONS reached)')
    }
    return
  }
  socket.destroy()
  const { refusal } = admission
  const line = { event: 'connection_refused', reason: refusal, clientIp: peer, held: table.heldBy(client) }
  note(`connection_refused:${refusal}`, line, `connection refused: ${REFUSALS[refusal]}`)
}

const REFUSALS: Record<Refusal, string> = {
  connections: 'the server holds MAX_CONNECTIONS',
  client_connections: 'the client holds MAX_CONNECTIONS_PER_CLIENT connections',
  proxy_connections: 'the trusted proxy holds three quarters of MAX_CONNECTIONS',
  heap: 'the heap is near its limit (HEAP_SHED_PERCENT)',
  body_budget: 'the bodies being read take BODY_BYTES_IN_FLIGHT',
}

/**
 * Takes a request's body bytes from the budget until it has been read (or the request is over),
 * or answers 503 service_unavailable with Retry-After at once, before a byte of the body is read,
 * and closes the connection.
 */
function admitBody(req: IncomingMessage, res: ServerResponse, guards: Guards & { bodies: BodyBudget }): boolean {
  const bytes = bodyBytesToRead(req.headers)
  if (bytes === 0) return true
  const refusal: Refusal | undefined = guards.heap.isShort()
    ? 'heap'
    : guards.bodies.reserve(bytes)
      ? undefined
      : 'body_budget'
  if (refusal === undefined) {
    let held = true
    const release = () => {
      if (held) guards.bodies.release(bytes)
      held = false
    }
    req.once('end', release).once('close', release)
    return true
  }
  const answer = problemJson(
    new Problem('service_unavailable', { headers: { 'retry-after': String(BODY_RETRY_AFTER_SECONDS) } }),
  )
  res.writeHead(answer.statusCode, {
    ...answer.headers,
    ...OWN_ANSWER_HEADERS,
    'content-length': Buffer.byteLength(answer.body ?? ''),
  })
  res.end(answer.body)
  const line = {
    event: 'body_refused',
    reason: refusal,
    method: req.method,
    path: loggedPath(req),
    clientIp: req.socket.remoteAddress,
  }
  guards.note(`body_refused:${refusal}`, line, `request refused before its body: ${REFUSALS[refusal]}`)
  return false
}

/** What every answer the server writes itself carries (a JSON problem: nothing to render, frame or sniff). */
const OWN_ANSWER_HEADERS = {
  'cache-control': 'no-store',
  'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  connection: 'close',
}

// Node's own answers to a request it could not parse, written when no listener takes the event
const NODE_ANSWERS: Record<string, string> = {
  ERR_HTTP_REQUEST_TIMEOUT: 'HTTP/1.1 408 Request Timeout\r\nConnection: close\r\n\r\n',
  HPE_CHUNK_EXTENSIONS_OVERFLOW: 'HTTP/1.1 413 Payload Too Large\r\nConnection: close\r\n\r\n',
}

/**
 * A request Node could not parse. Headers over Node's 16 KiB get a problem with the headers every
 * answer carries (a browser with a cookie jar grown too large deserves to be told why); anything
 * else gets Node's own answer, as if no listener were here.
 */
function answerClientError(error: Error & { code?: string }, socket: Socket): void {
  if (socket.writable && socket.bytesWritten === 0) {
    if (error.code === 'HPE_HEADER_OVERFLOW') {
      const answer = problemJson(new Problem('headers_too_large'))
      const headers = { ...answer.headers, ...OWN_ANSWER_HEADERS }
      const body = answer.body ?? ''
      const lines = Object.entries({ ...headers, 'content-length': Buffer.byteLength(body) })
        .map(([name, value]) => `${name}: ${value}\r\n`)
        .join('')
      socket.write(`HTTP/1.1 431 Request Header Fields Too Large\r\n${lines}\r\n${body}`)
    } else {
      socket.write(NODE_ANSWERS[error.code ?? ''] ?? 'HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n')
    }
  }
  socket.destroy(error)
}

/** The request's path as the log shows it: no query (it may carry a secret), at most 256 characters. */
const loggedPath = (req: IncomingMessage) => req.url?.split('?')[0]?.slice(0, 256)

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
 * An aborted request is an ordinary event, not a bug: one line at info, no stack, and the socket is
 * closed. A slow-body flood must not fill an SD card: its lines share the refusals' budget, and
 * beyond it are only counted (lib/platform/log-budget.ts).
 */
export async function logAbortedRequest(req: IncomingMessage, arrival: Arrival): Promise<void> {
  const line = {
    event: 'request_aborted',
    method: req.method,
    path: loggedPath(req),
    clientIp: arrival.peer,
    durationMs: Date.now() - arrival.at,
  }
  req.socket.destroy()
  const log = await adapterLog()
  if (logBudgetFor(log).admit('request_aborted', Date.now())) {
    log.info(line, 'client went away before the request body arrived')
  }
}
