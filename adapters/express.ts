// `npm start`: the service on the gateway. Reads the environment, starts the database (embedded
// unless DATABASE_URL is set) and migrates it, then listens on PORT (at LISTEN_ADDRESS if set).
// SIGTERM/SIGINT close the server, the pool and the embedded database in that order.
import type { Server, ServerResponse } from 'node:http'
import module from 'node:module'
import { ConfigError, loadConfig, type Config } from '#lib/platform/config.ts'
import { startRuntime, stopRuntime } from '#lib/platform/runtime.ts'
import { throttleFor } from '#lib/auth/throttle.ts'
import { createLogger } from '#lib/platform/log.ts'
import { createApp, loadRouteChain } from './express-app.ts'
import { createHttpServer } from './http-server.ts'

const SHUTDOWN_GRACE_MS = 5_000

function fail(message: string): never {
  // one plain line per problem, no stack trace: it is read on a gateway's console
  for (const line of message.split('\n')) console.error(`gateway-auth: ${line}`)
  process.exit(1)
}

async function main(): Promise<void> {
  let config: Config
  try {
    config = loadConfig()
  } catch (error) {
    if (error instanceof ConfigError) fail(error.message)
    throw error
  }
  const log = createLogger(config.logLevel)
  // /health's route, and with it the chain every route shares, loads while the database connects (its
  // waits are network and disk, the import's are CPU); each other route at its first request (ADR 021)
  loadRouteChain()
    // the compile cache (adapters/compile-cache.mjs) is written now, not only at a clean exit
    .then(() => module.flushCompileCache?.())
    .catch((error: unknown) => log.error({ err: error }, 'loading the routes failed'))
  const runtime = await startRuntime(config, log).catch((error: unknown) => {
    // by name: the embedded server's modules load only without DATABASE_URL, the rules module (and
    // its YAML parser) only when ACCESS_RULES is set
    if (['EmbeddedPostgresError', 'AccessRulesError'].includes((error as Error).name)) fail((error as Error).message)
    fail(`cannot reach the database: ${(error as Error).message}`)
  })

  const app = await createApp()
  // unset LISTEN_ADDRESS: every interface, IPv6 and IPv4, as Node listens by default
  const server: Server = createHttpServer(app, config, { log }).listen(config.port, config.listenAddress)
  const where = config.listenAddress ? `${config.listenAddress} port ${config.port}` : `port ${config.port}`
  await new Promise<void>((resolve, reject) => server.once('listening', resolve).once('error', reject)).catch((error) =>
    fail(`cannot listen on ${where}: ${(error as Error).message}`),
  )
  log.info(
    {
      port: config.port,
      address: config.listenAddress ?? 'any',
      database: config.database.url ? 'server' : 'embedded',
    },
    'gateway-auth listening',
  )
  // the session cache goes on once its listener is up; until then every request reads the database
  const revocations = import('#lib/auth/session-revocations.ts')
    .then(({ listenForRevocations }) => listenForRevocations(runtime))
    .catch((error: unknown) => log.error({ err: error }, 'the session cache cannot start: it stays off'))

  const sweep = setInterval(async () => {
    const now = new Date()
    const { deleteExpiredSessions } = await import('#lib/auth/sessions.ts')
    deleteExpiredSessions(runtime.db, now).catch((error) => log.warn({ err: error }, 'session sweep failed'))
    const { deleteExpiredPendingSignIns } = await import('#lib/auth/pending-sign-ins.ts')
    deleteExpiredPendingSignIns(runtime.db, now).catch((error) => log.warn({ err: error }, 'pending sweep failed'))
    throttleFor(runtime)
      .deleteExpired(now)
      .catch((error) => log.warn({ err: error }, 'throttle sweep failed'))
  }, config.sweepIntervalSeconds * 1000)
  sweep.unref()

  let stopping = false
  const inFlight = new Set<ServerResponse>()
  server.on('request', (_request, response: ServerResponse) => {
    // a request reaching a kept-alive connection during the stop is answered, then the connection ends
    if (stopping) response.setHeader('connection', 'close')
    inFlight.add(response)
    response.once('close', () => inFlight.delete(response))
  })
  const shutdown = async (signal: string) => {
    if (stopping) return
    stopping = true
    log.info({ signal }, 'shutting down')
    clearInterval(sweep)
    const force = setTimeout(() => server.closeAllConnections(), SHUTDOWN_GRACE_MS)
    // close() only drops the connections idle at that moment: a kept-alive connection whose request
    // is in flight would hold the stop until the client let it go (5 s in the arm64 test). Its
    // response now says `connection: close`, so the connection ends with it.
    for (const response of inFlight) if (!response.headersSent) response.setHeader('connection', 'close')
    await new Promise((resolve) => server.close(resolve))
    clearTimeout(force)
    await (await revocations)?.stop()
    await stopRuntime()
    process.exit(0)
  }
  process.on('SIGTERM', () => void shutdown('SIGTERM'))
  process.on('SIGINT', () => void shutdown('SIGINT'))
}

await main()
