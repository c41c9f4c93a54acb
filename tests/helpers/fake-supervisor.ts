// A stand-in for the balena Supervisor's HTTP API, which cannot run here: the endpoints the card
// reads, with the shapes of balena-supervisor docs/API.md (GET /ping → "OK"; GET /v2/state/status;
// GET /v1/device) and the one write the card makes (POST /v2/applications/<appId>/restart-service with
// {"serviceName"}: "OK", or 423 while `locked`, as an update lock answers), each but /ping refusing a missing or wrong ?apikey= with 401 as the supervisor
// does. `mode` switches it to its failure modes: 500, a body that is not JSON, or no answer at all.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'

export type FakeSupervisorMode = 'ok' | 'error' | 'garbage' | 'hang'
export const FAKE_APP_ID = '1032480'
export interface FakeService {
  serviceName: string
  /** The supervisor's own words: Running, exited, restarting, Downloading, Installing … */
  status: string
}

export interface FakeSupervisor {
  readonly address: string
  readonly apiKey: string
  /** The environment a container with the io.balena.features.supervisor-api label gets. */
  readonly env: Record<string, string>
  mode: FakeSupervisorMode
  services: FakeService[]
  /** Every request's path and query, as received (the test checks the key travelled only there). */
  readonly requests: string[]
  /** The services a restart was asked for, in order. */
  readonly restarts: string[]
  /** Answers restarts with 423, as the supervisor does while the service holds an update lock. */
  locked: boolean
  /** Sets the packet forwarder's (the first service's) status, as a tour stop wants it. */
  setForwarder(status: 'Running' | 'exited'): void
  /** Answers every request held by mode 'hang' (with a 500) so the server can close. */
  releaseHeld(): void
  close(): Promise<void>
}

export const FORWARDER_RUNNING: FakeService[] = [
  { serviceName: 'udp-packet-forwarder', status: 'Running' },
  { serviceName: 'gateway-auth', status: 'Running' },
  { serviceName: 'chirpstack-gateway-bridge', status: 'Running' },
]

const json = (response: ServerResponse, status: number, body: unknown) => {
  response.writeHead(status, { 'content-type': 'application/json' })
  response.end(JSON.stringify(body))
}

export async function startFakeSupervisor(services: FakeService[] = FORWARDER_RUNNING): Promise<FakeSupervisor> {
  const apiKey = 'supervisor-api-key-4f1c9e'
  const held: ServerResponse[] = []
  const state = {
    mode: 'ok' as FakeSupervisorMode,
    services: services.map((s) => ({ ...s })),
    requests: [] as string[],
    restarts: [] as string[],
    locked: false,
  }
  const answer = (request: IncomingMessage, response: ServerResponse) => {
    const url = new URL(request.url ?? '/', 'http://supervisor')
    state.requests.push(`${url.pathname}${url.search}`)
    if (url.pathname === '/ping') return response.end('OK')
    if (url.searchParams.get('apikey') !== apiKey) return response.writeHead(401).end('Unauthorized')
    if (state.mode === 'hang') return void held.push(response)
    if (state.mode === 'error') return response.writeHead(500).end('Internal Server Error')
    if (state.mode === 'garbage') return response.writeHead(200, { 'content-type': 'application/json' }).end('{"con')
    if (url.pathname === '/v2/state/status') {
      return json(response, 200, {
        status: 'success',
        appState: 'applied',
        overallDownloadProgress: null,
        containers: state.services.map((s, i) => ({
          status: s.status,
          serviceName: s.serviceName,
          appId: 1032480,
          imageId: 959262 + i,
          serviceId: 29396 + i,
          containerId: `be4a860e34ffca609866f8af3596e9ee7b869e1e0bb9f51406d0b120b0a81cd${i}`,
          createdAt: '2026-11-30T16:05:34.506Z',
        })),
        images: [],
        release: '804281fb17e8291c542f9640814ef546',
      })
    }
    if (request.method === 'POST' && url.pathname === `/v2/applications/${FAKE_APP_ID}/restart-service`) {
      let body = ''
      request.on('data', (chunk) => {
        body += chunk
      })
      request.on('end', () => {
        if (state.locked) return void response.writeHead(423).end('Updates are locked')
        const { serviceName } = JSON.parse(body) as { serviceName: string }
        const service = state.services.find((s) => s.serviceName === serviceName)
        if (!service) return void response.writeHead(404).end('Service not found')
        state.restarts.push(serviceName)
        service.status = 'Restarting'
        response.end('OK')
      })
      return
    }
    if (url.pathname === '/v1/device') {
      return json(response, 200, {
        api_port: 48484,
        ip_address: '192.168.0.114 10.42.0.3',
        commit: '414e65cd378a69a96f403b75f14b40b55856f860',
        status: 'Idle',
        download_progress: null,
        os_version: 'balenaOS 6.5.12',
        supervisor_version: '17.1.3',
        update_pending: false,
        update_downloaded: false,
        update_failed: false,
      })
    }
    response.writeHead(404).end('Not Found')
  }
  const server = createServer(answer).listen(0, '127.0.0.1')
  await new Promise((resolve) => server.once('listening', resolve))
  const address = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  const releaseHeld = () => {
    for (const response of held.splice(0)) response.writeHead(500).end()
  }
  return Object.assign(state, {
    setForwarder: (status: 'Running' | 'exited') => {
      state.services[0] = { ...state.services[0]!, status }
    },
    address,
    apiKey,
    env: {
      BALENA: '1',
      BALENA_APP_ID: FAKE_APP_ID,
      BALENA_SUPERVISOR_ADDRESS: address,
      BALENA_SUPERVISOR_API_KEY: apiKey,
    },
    releaseHeld,
    close: () =>
      new Promise<void>((resolve) => {
        releaseHeld()
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  })
}

/** The fleet variables the screenshots and the browser tests give the service: a RAK gateway on TTN. */
export const RAK_FLEET = {
  GATEWAY_EUI: 'E45F01FFFE517BA8',
  MODEL: 'RAK7248',
  SERVER_HOST: 'eu1.cloud.thethings.network',
  SERVER_PORT: '1700',
  BAND: 'eu_863_870',
  TTS_REGION: 'eu1',
  TTS_PERSONAL_KEY: 'NNSXS.FLEETKEY.SHOULD-NEVER-SHOW',
}
