// The whole service over HTTP on a real port: runtime + Express adapter, as `npm start` runs it.
import type { AddressInfo } from 'node:net'
import type { Server } from 'node:http'
import { afterAll, beforeAll } from 'vitest'
import { createApp } from '../../adapters/express-app.ts'
import { createHttpServer } from '../../adapters/http-server.ts'
import { client } from './http.ts'
import { startTestRuntime, type DatabaseKind, type TestRuntime, type TestRuntimeOptions } from './runtime.ts'

export interface TestService extends TestRuntime {
  baseUrl: string
  stopServer(): Promise<void>
}

export async function startService(
  kind: DatabaseKind,
  env: Record<string, string> = {},
  dataDir?: string,
  options: TestRuntimeOptions = {},
): Promise<TestService> {
  const testRuntime = await startTestRuntime(kind, env, dataDir, options)
  const server: Server = createHttpServer(await createApp()).listen(0, '127.0.0.1')
  await new Promise((resolve) => server.once('listening', resolve))
  const { port } = server.address() as AddressInfo
  const stopServer = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections()
      server.close(() => resolve())
    })
  return {
    ...testRuntime,
    baseUrl: `http://127.0.0.1:${port}`,
    stopServer,
    async stop(options) {
      await stopServer()
      await testRuntime.stop(options)
    },
  }
}

/**
 * Starts a value before the calling file's (or describe block's) tests and stops it after them.
 * The object returned is filled in when the start has finished: read its fields inside tests.
 */
export function useStarted<T extends object>(start: () => Promise<T>, stop: (started: T) => Promise<unknown>): T {
  const current = {} as T
  let started = false
  beforeAll(async () => {
    Object.assign(current, await start())
    started = true
  })
  afterAll(async () => {
    if (started) await stop(current)
  })
  return current
}

/** The service on `kind` for the calling file or block, with an HTTP client for its port. */
export function useService(kind: DatabaseKind, env: Record<string, string> = {}) {
  return useStarted(
    async () => {
      const service = await startService(kind, env)
      return { service, http: client(service.baseUrl) }
    },
    ({ service }) => service.stop(),
  )
}
