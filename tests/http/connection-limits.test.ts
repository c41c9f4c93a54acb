// The HTTP server's connection and memory limits (adapters/http-server.ts, docs/decisions/012) with
// the real Express app and runtime, each server on small limits so a handful of sockets reach them.
// Peers are told apart by their loopback source address (127.0.0.0/8 all reaches this machine).
// The flood itself, thousands of connections against `npm start`'s process, is
// tests/slow/connection-flood.test.ts.
import type { AddressInfo } from 'node:net'
import { connect, type Socket } from 'node:net'
import type { Server } from 'node:http'
import { setTimeout as sleep } from 'node:timers/promises'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createApp } from '../../adapters/express-app.ts'
import { createHttpServer } from '../../adapters/http-server.ts'
import { loadConfig, type ConnectionLimits } from '#lib/platform/config.ts'
import type { HeapGauge } from '#lib/platform/heap-gauge.ts'
import { createLogBudget, LOG_BUDGET } from '#lib/platform/log-budget.ts'
import { databaseKinds, startTestRuntime, type TestRuntime } from '../helpers/runtime.ts'
import { expectProblem } from '../helpers/expect.ts'
import { probeHealth } from '../helpers/connection-flood.ts'

/** The defaults, which each test lowers where it needs to. */
const LIMITS = loadConfig({}).limits
// a socket still open this long after connecting was kept (the refusals close at once)
const KEPT_MS = 300
// generous: the first sign-in loads its route, which takes seconds on a loaded machine
const CLOSED_WITHIN_MS = 20_000

interface Peer {
  readonly socket: Socket
  /** Everything the server sent, once it closed the connection (or CLOSED_WITHIN_MS passed). */
  readonly closed: Promise<{ text: string; closed: boolean }>
}

/** A connection from `from` that sends `request` (by default: the headers of POST /login and one byte). */
function open(port: number, from: string, request = halfSentLogin(16_000)): Peer {
  const socket = connect({ port, host: '127.0.0.1', localAddress: from })
  let text = ''
  socket.setEncoding('latin1')
  socket.on('connect', () => socket.write(request, 'latin1'))
  socket.on('data', (chunk: string) => {
    text += chunk
  })
  socket.on('error', () => {})
  const closed = new Promise<{ text: string; closed: boolean }>((resolve) => {
    const timer = setTimeout(() => resolve({ text, closed: false }), CLOSED_WITHIN_MS)
    socket.on('close', () => {
      clearTimeout(timer)
      resolve({ text, closed: true })
    })
  })
  return { socket, closed }
}

const halfSentLogin = (declared: number, sent = '{', headers = '') =>
  `POST /login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nAccept: application/json\r\n` +
  `${headers}Content-Length: ${declared}\r\n\r\n${sent}`

/** Open after KEPT_MS, with nothing answered. */
async function expectKept(peer: Peer): Promise<void> {
  const outcome = await Promise.race([peer.closed, new Promise((resolve) => setTimeout(resolve, KEPT_MS, 'kept'))])
  expect(outcome).toBe('kept')
}

/** Closed by the server without a byte of answer. */
async function expectRefused(peer: Peer): Promise<void> {
  expect(await peer.closed).toEqual({ text: '', closed: true })
}

/**
 * GET /health from `from` is answered: its connection was let in. (Its status is the database
 * check's, which a loaded machine can make 503; tests/slow/connection-flood.test.ts asks for 200.)
 */
async function expectLetIn(port: number, from: string): Promise<void> {
  const { status } = await probeHealth(port, from, CLOSED_WITHIN_MS)
  expect([200, 503]).toContain(status)
}

/** The raw HTTP answer as the shape tests/helpers/expect.ts reads, plus its headers. */
function parse(raw: string) {
  const [head = '', ...rest] = raw.split('\r\n\r\n')
  const [statusLine = '', ...headerLines] = head.split('\r\n')
  const headers = new Headers(headerLines.map((line) => line.split(/:\s*/, 2) as [string, string]))
  return {
    status: Number(statusLine.split(' ')[1]),
    text: rest.join('\r\n\r\n'),
    contentType: headers.get('content-type') ?? '',
    headers,
  }
}

describe('connection and memory limits', () => {
  let runtime: TestRuntime
  let app: Awaited<ReturnType<typeof createApp>>
  const servers: Server[] = []
  const sockets: Socket[] = []
  let heapShort = false
  const heap: HeapGauge = { isShort: () => heapShort, stop: () => {} }

  /**
   * A server on `limits` (over the defaults) and TRUST_PROXY `trustProxy`, with a log budget of its
   * own (not the one the earlier servers of this file drew on); returns its port.
   */
  async function listen(limits: Partial<ConnectionLimits>, trustProxy: string[] = []): Promise<number> {
    const logBudget = createLogBudget(runtime.runtime.log)
    const server = createHttpServer(app, { limits: { ...LIMITS, ...limits }, trustProxy }, { heap, logBudget }).listen(
      0,
      '127.0.0.1',
    )
    servers.push(server)
    await new Promise((resolve) => server.once('listening', resolve))
    return (server.address() as AddressInfo).port
  }
  const from = (port: number, address: string, request?: string) => {
    const peer = open(port, address, request)
    sockets.push(peer.socket)
    return peer
  }

  /**
   * What the server answers `request` with, once it answers without waiting for the body: on a
   * loaded machine the other client's body may not be counted yet, and then this one is read (it is
   * dropped, and sent again).
   */
  async function answeredAtOnce(port: number, address: string, request: string) {
    for (let attempt = 0; attempt < 30; attempt++) {
      const peer = from(port, address, request)
      const outcome = await Promise.race([peer.closed, sleep(KEPT_MS)])
      if (outcome) return outcome
      peer.socket.destroy()
    }
    throw new Error('the server kept waiting for the body')
  }

  beforeAll(async () => {
    runtime = await startTestRuntime(databaseKinds()[0]!, {}, undefined, { captureLogs: true })
    app = await createApp()
  })
  afterAll(async () => {
    for (const socket of sockets) socket.destroy()
    for (const server of servers) {
      server.closeAllConnections()
      await new Promise((resolve) => server.close(resolve))
    }
    await runtime?.stop()
  })

  it('keeps MAX_CONNECTIONS_PER_CLIENT connections of one client, closes its next at once, and serves another client', async () => {
    const port = await listen({ connectionsPerClient: 3 })
    const held = [1, 2, 3].map(() => from(port, '127.0.1.1'))
    await Promise.all(held.map(expectKept))
    await expectRefused(from(port, '127.0.1.1'))
    await expectLetIn(port, '127.0.1.2')
    // one of them ends: once the server has seen it close, the client may connect again
    held[0]!.socket.destroy()
    await held[0]!.closed
    let again = from(port, '127.0.1.1')
    for (let attempt = 0; attempt < 30 && (await Promise.race([again.closed, sleep(KEPT_MS)])); attempt++) {
      again = from(port, '127.0.1.1')
    }
    await expectKept(again)
  })

  it('lets a TRUST_PROXY proxy hold three quarters of MAX_CONNECTIONS, more than one client may', async () => {
    const port = await listen({ connections: 8, connectionsPerClient: 2 }, ['127.0.2.1'])
    const held = Array.from({ length: 6 }, () => from(port, '127.0.2.1'))
    await Promise.all(held.map(expectKept))
    await expectRefused(from(port, '127.0.2.1'))
    // the last quarter is for direct clients
    await Promise.all([from(port, '127.0.2.2'), from(port, '127.0.2.2')].map(expectKept))
  })

  it('when MAX_CONNECTIONS are open, closes the oldest half-sent request of a client holding two more for a newcomer', async () => {
    const port = await listen({ connections: 8, connectionsPerClient: 5 })
    const first = Array.from({ length: 5 }, () => from(port, '127.0.3.1'))
    const second = Array.from({ length: 3 }, () => from(port, '127.0.3.2'))
    await Promise.all([...first, ...second].map(expectKept))
    // the second holds 3, the first two more: the first's oldest is closed for the second's fourth
    const fourth = from(port, '127.0.3.2')
    expect(await first[0]!.closed).toEqual({ text: '', closed: true })
    await Promise.all([fourth, first[1]!].map(expectKept))
    // 4 and 4: neither holds two more than the other
    await expectRefused(from(port, '127.0.3.2'))
    await expectRefused(from(port, '127.0.3.1'))
    // a client holding nothing gets in, for the first's next oldest
    await expectLetIn(port, '127.0.3.3')
    expect(await first[1]!.closed).toEqual({ text: '', closed: true })
  })

  it('answers a body over BODY_BYTES_IN_FLIGHT with 503 and Retry-After before reading it, and reads it once there is room', async () => {
    const port = await listen({ bodyBytesInFlight: 20_000 })
    const holder = from(port, '127.0.4.1')
    await expectKept(holder)
    // only the headers are sent: the answer cannot have waited for the body
    const refused = await answeredAtOnce(port, '127.0.4.2', halfSentLogin(16_000, ''))
    const answer = parse(refused.text)
    expectProblem(answer, 503, 'service_unavailable')
    expect(answer.headers.get('retry-after')).toBe('1')
    expect(answer.headers.get('connection')).toBe('close')
    expect(refused.closed).toBe(true)
    // a small body still fits beside the held one
    const small = JSON.stringify({ username: 'nobody-here', password: 'x'.repeat(20) })
    const served = await from(
      port,
      '127.0.4.2',
      halfSentLogin(Buffer.byteLength(small), small, 'Connection: close\r\n'),
    ).closed
    expectProblem(parse(served.text), 401, 'invalid_credentials')
    // the held body's client goes away: its bytes come back to the budget
    holder.socket.destroy()
    await holder.closed
    const large = JSON.stringify({ username: 'nobody-here', password: 'x'.repeat(20), pad: 'p'.repeat(15_900) })
    const later = await from(port, '127.0.4.2', halfSentLogin(Buffer.byteLength(large), large, 'Connection: close\r\n'))
      .closed
    expect(parse(later.text).status).toBe(401)
  })

  it('answers Expect: 100-continue over the budget with 503 and no 100 Continue', async () => {
    const port = await listen({ bodyBytesInFlight: 20_000 })
    await expectKept(from(port, '127.0.5.1'))
    const refused = await answeredAtOnce(port, '127.0.5.2', halfSentLogin(16_000, '', 'Expect: 100-continue\r\n'))
    expect(refused.text).not.toContain('100 Continue')
    expectProblem(parse(refused.text), 503, 'service_unavailable')
  })

  it('while the heap is short, refuses bodies with 503 and second connections, and still answers /health', async () => {
    const port = await listen({})
    const before = from(port, '127.0.6.1', 'GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n')
    await expectKept(before)
    heapShort = true
    try {
      await expectRefused(from(port, '127.0.6.1'))
      expectProblem(
        parse((await from(port, '127.0.6.2', halfSentLogin(100, '')).closed).text),
        503,
        'service_unavailable',
      )
      await expectLetIn(port, '127.0.6.3')
    } finally {
      heapShort = false
    }
  })

  it('ends a request whose body is not all there at REQUEST_TIMEOUT_SECONDS with 408', async () => {
    const port = await listen({ requestTimeoutSeconds: 1 })
    const slow = await from(port, '127.0.7.1').closed
    expect(slow.closed).toBe(true)
    expect(parse(slow.text).status).toBe(408)
  })

  it('logs refusals as JSON, the first lines of each kind per interval within the log budget and the rest counted', async () => {
    const port = await listen({ connectionsPerClient: 1 })
    await expectKept(from(port, '127.0.8.1'))
    // the kind's first lines of the interval, and seven more that are only counted
    const refused = LOG_BUDGET.linesPerKind + 7
    await Promise.all(Array.from({ length: refused }, () => expectRefused(from(port, '127.0.8.1'))))
    const server = servers.at(-1)!
    server.closeAllConnections()
    await new Promise((resolve) => server.close(resolve))
    const lines = runtime.logs().filter((line) => line.clientIp === '127.0.8.1' || line.event === 'events_summarised')
    expect(lines.filter((line) => line.event === 'connection_refused')).toEqual(
      Array.from({ length: LOG_BUDGET.linesPerKind }, () =>
        expect.objectContaining({ level: 30, reason: 'client_connections', clientIp: '127.0.8.1', held: 1 }),
      ),
    )
    expect(lines.at(-1)).toMatchObject({
      event: 'events_summarised',
      counted: { 'connection_refused:client_connections': 7 },
    })
  })
})
