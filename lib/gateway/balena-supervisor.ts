// The other services on the device, from the balena Supervisor's HTTP API (docs/API.md of
// balena-os/balena-supervisor): GET /v2/state/status (each container's serviceName and status) and
// GET /v1/device (OS, supervisor, update status), both with ?apikey=. The container has the address
// and key only with the io.balena.features.supervisor-api label (docker-compose.yml).
// The page never waits on the supervisor for long: a reading is kept SUPERVISOR_CACHE_SECONDS; a
// stale one is refreshed in the background (one request at a time), and a request waits at most
// SUPERVISOR_WAIT_MS for it before it is answered with the last reading, or "no answer yet".
// The API key is a secret: it goes into the request URL and nowhere else (no log, no message).
// One write: POST /v2/applications/<BALENA_APP_ID>/restart-service, for the card's restart button
// (admins only, ADR 015). Never with `force`, so an update lock the service holds is respected.
import * as z from 'zod'

export const SERVICE_STATES = [
  'running',
  'restarting',
  'downloading',
  'installing',
  'installed',
  'stopping',
  'exited',
  'dead',
  'paused',
  'removing',
  'awaiting_handover',
  'unknown',
] as const
export type ServiceState = (typeof SERVICE_STATES)[number]

export interface DeviceService {
  readonly name: string
  readonly state: ServiceState
}
export interface SupervisorDevice {
  readonly status: string | null
  readonly osVersion: string | null
  readonly supervisorVersion: string | null
  readonly updatePending: boolean | null
}
export const UNREACHABLE_REASONS = ['timeout', 'refused', 'error', 'garbage', 'network'] as const
export type UnreachableReason = (typeof UNREACHABLE_REASONS)[number]

export type SupervisorReading =
  | { readonly state: 'off_balena' }
  | { readonly state: 'no_api' }
  | { readonly state: 'unreachable'; readonly reason: UnreachableReason }
  | {
      readonly state: 'ok'
      readonly readAt: Date
      readonly services: readonly DeviceService[]
      readonly device: SupervisorDevice | null
    }

export const SUPERVISOR_CACHE_SECONDS = 5
export const SUPERVISOR_WAIT_MS = 300
/** A background request gives up after this long: the supervisor is local, it answers in milliseconds. */
export const SUPERVISOR_TIMEOUT_MS = 2_000

// the supervisor's own names (src/compose/types/service.ts ServiceStatus, plus the application
// manager's Downloading and Awaiting handover) → ours
const STATES: Record<string, ServiceState> = {
  running: 'running',
  restarting: 'restarting',
  downloading: 'downloading',
  installing: 'installing',
  installed: 'installed',
  stopping: 'stopping',
  exited: 'exited',
  dead: 'dead',
  paused: 'paused',
  removing: 'removing',
  'awaiting handover': 'awaiting_handover',
}

const StateStatus = z.object({
  containers: z.array(z.object({ serviceName: z.string().max(200), status: z.string().max(64) })).max(200),
  images: z
    .array(z.object({ serviceName: z.string().max(200), status: z.string().max(64) }))
    .max(200)
    .optional(),
})
const optionalText = z.string().max(200).nullish().catch(null)
const Device = z.object({
  status: optionalText,
  os_version: optionalText,
  supervisor_version: optionalText,
  update_pending: z.boolean().nullish().catch(null),
})

class SupervisorFailure extends Error {
  readonly reason: UnreachableReason
  constructor(reason: UnreachableReason) {
    super(`supervisor ${reason}`)
    this.reason = reason
  }
}

/** Where this container reaches the supervisor, or why it cannot (no variables: not on balena; no label). */
function supervisorAccess(env: NodeJS.ProcessEnv): { address: string; apiKey: string } | 'off_balena' | 'no_api' {
  const address = env.BALENA_SUPERVISOR_ADDRESS?.trim()
  const apiKey = env.BALENA_SUPERVISOR_API_KEY?.trim()
  if (!address || !apiKey) return env.BALENA === '1' ? 'no_api' : 'off_balena'
  return { address, apiKey }
}

/** `path` on the supervisor, with the key in the query string: the one place it travels. */
function supervisorUrl(address: string, path: string, apiKey: string): URL {
  const url = new URL(path, address)
  url.searchParams.set('apikey', apiKey)
  return url
}

async function getJson(address: string, path: string, apiKey: string, timeoutMs: number): Promise<unknown> {
  const url = supervisorUrl(address, path, apiKey)
  let response: Response
  try {
    response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs), redirect: 'error' })
  } catch (error) {
    throw new SupervisorFailure((error as Error).name === 'TimeoutError' ? 'timeout' : 'network')
  }
  if (response.status === 401 || response.status === 403) throw new SupervisorFailure('refused')
  if (!response.ok) throw new SupervisorFailure('error')
  try {
    return await response.json()
  } catch (error) {
    throw new SupervisorFailure((error as Error).name === 'TimeoutError' ? 'timeout' : 'garbage')
  }
}

/** Asks the supervisor now (no cache): the services and the device, or why it could not tell. */
export async function askSupervisor(
  address: string,
  apiKey: string,
  now: Date,
  timeoutMs = SUPERVISOR_TIMEOUT_MS,
): Promise<SupervisorReading> {
  const [status, device] = await Promise.allSettled([
    getJson(address, '/v2/state/status', apiKey, timeoutMs),
    getJson(address, '/v1/device', apiKey, timeoutMs),
  ])
  if (status.status === 'rejected') {
    const reason = status.reason instanceof SupervisorFailure ? status.reason.reason : 'error'
    return { state: 'unreachable', reason }
  }
  const parsed = StateStatus.safeParse(status.value)
  if (!parsed.success) return { state: 'unreachable', reason: 'garbage' }
  const services: DeviceService[] = parsed.data.containers.map((c) => ({
    name: c.serviceName,
    state: stateOf(c.status),
  }))
  // a service whose image is still downloading has no container yet
  for (const image of parsed.data.images ?? []) {
    if (!services.some((s) => s.name === image.serviceName) && stateOf(image.status) === 'downloading') {
      services.push({ name: image.serviceName, state: 'downloading' })
    }
  }
  const deviceFacts = device.status === 'fulfilled' ? Device.safeParse(device.value) : undefined
  return { state: 'ok', readAt: now, services, device: deviceFacts?.success ? deviceOf(deviceFacts.data) : null }
}

const stateOf = (status: string): ServiceState => STATES[status.trim().toLowerCase()] ?? 'unknown'
const deviceOf = (d: z.infer<typeof Device>): SupervisorDevice => ({
  status: d.status ?? null,
  osVersion: d.os_version ?? null,
  supervisorVersion: d.supervisor_version ?? null,
  updatePending: d.update_pending ?? null,
})

interface CacheEntry {
  reading?: SupervisorReading
  readAt?: number
  refreshing?: Promise<SupervisorReading>
}
// per address and key: another supervisor, or a new key, never gets an old reading
const cache = new Map<string, CacheEntry>()

/** What became of a restart request: the supervisor took it, or why it did not. */
export type RestartOutcome =
  | 'requested'
  /** The service holds an update lock (the supervisor's 423): it restarts when the lock is released. */
  | 'locked'
  | 'off_balena'
  | 'no_api'
  /** BALENA_APP_ID is missing or not a number: the supervisor's route needs it. */
  | 'no_app_id'
  | UnreachableReason

/** Asks the supervisor to restart `serviceName` now, and forgets the cached reading so the card shows it. */
export async function restartService(
  env: NodeJS.ProcessEnv,
  serviceName: string,
  timeoutMs = SUPERVISOR_TIMEOUT_MS,
): Promise<RestartOutcome> {
  const access = supervisorAccess(env)
  if (typeof access === 'string') return access
  const { address, apiKey } = access
  const appId = env.BALENA_APP_ID?.trim() ?? ''
  if (!/^\d{1,12}$/.test(appId)) return 'no_app_id'
  const url = supervisorUrl(address, `/v2/applications/${appId}/restart-service`, apiKey)
  let response: Response
  try {
    response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ serviceName }),
      signal: AbortSignal.timeout(timeoutMs),
      redirect: 'error',
    })
    await response.arrayBuffer() // "OK", or the reason: read to the end so the connection is free
  } catch (error) {
    return (error as Error).name === 'TimeoutError' ? 'timeout' : 'network'
  }
  cache.delete(`${address} ${apiKey}`)
  if (response.ok) return 'requested'
  if (response.status === 423) return 'locked'
  if (response.status === 401 || response.status === 403) return 'refused'
  return 'error'
}

/** How long a reader waits for a fresh reading, and a request for the supervisor's answer. */
export interface SupervisorWait {
  readonly waitMs?: number
  readonly timeoutMs?: number
  /** Ask anew even when the cached reading is recent (before acting on what it says). */
  readonly askAnew?: boolean
}

/** The supervisor's reading as of `now`: cached, refreshed in the background, never waited on long. */
export async function readSupervisor(
  env: NodeJS.ProcessEnv,
  now: Date,
  { waitMs = SUPERVISOR_WAIT_MS, timeoutMs = SUPERVISOR_TIMEOUT_MS, askAnew = false }: SupervisorWait = {},
): Promise<SupervisorReading> {
  const access = supervisorAccess(env)
  if (typeof access === 'string') return { state: access }
  const { address, apiKey } = access
  const cacheKey = `${address} ${apiKey}`
  const entry = cache.get(cacheKey) ?? {}
  cache.set(cacheKey, entry)
  const age = entry.readAt === undefined ? Infinity : now.getTime() - entry.readAt
  if (!askAnew && entry.reading && age >= 0 && age < SUPERVISOR_CACHE_SECONDS * 1000) return entry.reading
  entry.refreshing ??= askSupervisor(address, apiKey, now, timeoutMs)
    .catch((): SupervisorReading => ({ state: 'unreachable', reason: 'error' }))
    .then((reading) => {
      Object.assign(entry, { reading, readAt: now.getTime(), refreshing: undefined })
      return reading
    })
  let timer: NodeJS.Timeout | undefined
  const waited = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), waitMs)
  })
  const fresh = await Promise.race([entry.refreshing, waited])
  clearTimeout(timer)
  return fresh ?? entry.reading ?? { state: 'unreachable', reason: 'timeout' }
}
