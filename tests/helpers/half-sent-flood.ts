// The load generator of the connection flood (issue 15, finding 1), run as a process of its own so
// that its file-descriptor limit can be raised (`ulimit -n` in the shell that starts it) without
// touching the test runner's: `node tests/helpers/half-sent-flood.ts <json options>`.
// Opens `count` connections to loopback, spread over the source addresses given, each sending the
// headers of `POST /login` with `Content-Length: 16000` (or as given) and one byte of body, then holds them for
// `holdMs` and closes them all. Prints one JSON line: how many connected, how many the server
// answered (by status) and how many it closed. Loopback only, bounded in count and time.
import { connect, type Socket } from 'node:net'

export interface FloodOptions {
  readonly port: number
  readonly count: number
  /** Source addresses (127.0.0.0/8) the connections come from, round robin. */
  readonly from: readonly string[]
  readonly holdMs: number
  /** The Content-Length each declares (16000 unless given); one byte of it is sent. */
  readonly declaredBytes?: number
  /** Connections being opened at once. */
  readonly parallel?: number
}

export interface FloodResult {
  readonly connected: number
  readonly failed: number
  readonly closedByServer: number
  /** Status line → how many connections got it. */
  readonly answered: Record<string, number>
}

const halfSent = (declaredBytes: number) =>
  `POST /login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${declaredBytes}\r\n\r\n{`

async function flood(options: FloodOptions): Promise<FloodResult> {
  if (options.from.some((address) => !address.startsWith('127.'))) throw new Error('loopback addresses only')
  const sockets: Socket[] = []
  const answered: Record<string, number> = {}
  let connected = 0
  let failed = 0
  let closedByServer = 0
  let holding = true
  const request = halfSent(options.declaredBytes ?? 16_000)
  const open = (index: number) =>
    new Promise<void>((resolve) => {
      const localAddress = options.from[index % options.from.length]
      const socket = connect({ port: options.port, host: '127.0.0.1', localAddress })
      sockets.push(socket)
      let status = ''
      let wasConnected = false
      socket.setEncoding('latin1')
      socket.on('connect', () => {
        wasConnected = true
        connected++
        socket.write(request)
        resolve()
      })
      socket.on('data', (chunk: string) => {
        if (!status) {
          status = chunk.slice(0, 12)
          answered[status] = (answered[status] ?? 0) + 1
        }
      })
      socket.on('close', () => {
        if (holding) closedByServer++
        resolve()
      })
      socket.on('error', () => {
        if (!wasConnected) failed++
        resolve()
      })
    })
  const parallel = options.parallel ?? 200
  for (let next = 0; next < options.count; next += parallel) {
    await Promise.all(Array.from({ length: Math.min(parallel, options.count - next) }, (_, i) => open(next + i)))
  }
  await new Promise((resolve) => setTimeout(resolve, options.holdMs))
  holding = false
  for (const socket of sockets) socket.destroy()
  return { connected, failed, closedByServer, answered }
}

if (import.meta.main) {
  const result = await flood(JSON.parse(process.argv[2] ?? '{}') as FloodOptions)
  process.stdout.write(`${JSON.stringify(result)}\n`)
}
