// The whole service over HTTP on a real port: runtime + Express adapter, as `npm start` runs it.
import type { AddressInfo } from 'node:net'
import type { Server } from 'node:http'
import { createApp } from '../../adapters/express-app.ts'
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
  const server: Server = (await createApp()).listen(0, '127.0.0.1')
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
