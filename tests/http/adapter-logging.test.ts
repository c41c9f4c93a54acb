// What the Express adapter itself logs, through the service's pino logger: a client that goes away
// is an info line, a bug in the adapter an error line with its stack, both JSON. (The same over the
// real `npm start`, stdout and stderr: tests/security/external-probe.test.ts › 16.2.4.)
import type { AddressInfo } from 'node:net'
import type { Server } from 'node:http'
import { connect } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createApp } from '../../adapters/express-app.ts'
import { createHttpServer } from '../../adapters/http-server.ts'
import { databaseKinds, startTestRuntime, type TestRuntime } from '../helpers/runtime.ts'

describe('adapter log lines', () => {
  let runtime: TestRuntime
  let server: Server
  let port = 0
  // one response whose first status() throws: a stand-in for a bug in the adapter's writing
  let breakNextResponse = false

  beforeAll(async () => {
    runtime = await startTestRuntime(databaseKinds()[0]!, {}, undefined, { captureLogs: true })
    const app = await createApp()
    server = createHttpServer((req, res) => {
      if (breakNextResponse) {
        breakNextResponse = false
        let thrown = false
        Object.defineProperty(res, 'status', {
          configurable: true,
          get: () => (code: number) => {
            if (!thrown) {
              thrown = true
              throw new TypeError('adapter bug stand-in')
            }
            // Express's own status(), from the prototype it gives the response later
            return (Object.getPrototypeOf(res) as { status: (code: number) => unknown }).status.call(res, code)
          },
          set: () => {},
        })
      }
      app(req, res)
    }).listen(0, '127.0.0.1')
    await new Promise((resolve) => server.once('listening', resolve))
    port = (server.address() as AddressInfo).port
  })
  afterAll(async () => {
    server?.closeAllConnections()
    await new Promise((resolve) => server?.close(resolve))
    await runtime?.stop()
  })

  async function linesDuring(act: () => Promise<unknown>, until: (lines: Record<string, unknown>[]) => boolean) {
    const before = runtime.logs().length
    await act()
    const deadline = Date.now() + 5_000
    while (!until(runtime.logs().slice(before)) && Date.now() < deadline)
      await new Promise((resolve) => setTimeout(resolve, 20))
    return runtime.logs().slice(before)
  }

  it('logs a client that disconnects mid-body as one info line without a stack', async () => {
    const lines = await linesDuring(
      () =>
        new Promise<void>((resolve) => {
          const socket = connect(port, '127.0.0.1', () => {
            socket.write(
              `POST /register HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 500\r\n\r\n{"user`,
            )
            setTimeout(() => {
              socket.destroy()
              resolve()
            }, 50)
          })
        }),
      (lines) => lines.some((line) => line.event === 'request_aborted'),
    )
    const aborted = lines.filter((line) => line.event === 'request_aborted')
    expect(aborted).toEqual([
      expect.objectContaining({ level: 30, method: 'POST', path: '/register', durationMs: expect.any(Number) }),
    ])
    expect(aborted[0]).not.toHaveProperty('err')
    expect(lines.filter((line) => Number(line.level) >= 50)).toEqual([])
  })

  it('logs a bug in the adapter at error, as JSON with the stack in err, and answers 500 internal_error', async () => {
    breakNextResponse = true
    let reply: Response | undefined
    const lines = await linesDuring(
      async () => (reply = await fetch(`http://127.0.0.1:${port}/health`)),
      (lines) => lines.some((line) => line.event === 'adapter_failed'),
    )
    expect(reply!.status).toBe(500)
    expect(await reply!.json()).toMatchObject({ code: 'internal_error' })
    const failed = lines.filter((line) => line.event === 'adapter_failed')
    expect(failed).toHaveLength(1)
    expect(failed[0]).toMatchObject({
      level: 50,
      err: { type: 'TypeError', message: 'adapter bug stand-in', stack: expect.stringContaining('\n    at ') },
    })
  })
})
