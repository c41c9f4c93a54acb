// The gateway at a glance, for the dashboard: the machine (node:os, fs.statfs where DATA_DIR
// lives), the database, this service and, on balena, the device. Read when a dashboard asks and
// kept for a few seconds, so a burst of reloads costs one read: no timer, no thread, no process.
import { readFileSync } from 'node:fs'
import { statfs } from 'node:fs/promises'
import os from 'node:os'
import type { Config } from '../platform/config.ts'
import type { Queryable } from '../platform/database.ts'
import { readLorawan, type LorawanFacts } from './lorawan.ts'

export interface GatewayFacts {
  readonly readAt: Date
  readonly hostname: string
  readonly uptimeSeconds: number
  readonly loadAverage: readonly [number, number, number]
  readonly cpu: { readonly count: number; readonly model: string }
  readonly memory: { readonly usedBytes: number; readonly totalBytes: number }
  /** The file system holding DATA_DIR; null when it cannot be read (no such directory). */
  readonly disk: { readonly freeBytes: number; readonly totalBytes: number } | null
  readonly database: {
    readonly kind: 'embedded' | 'server'
    readonly healthy: boolean
    readonly sizeBytes: number | null
  }
  readonly service: {
    readonly version: string
    readonly nodeVersion: string
    readonly uptimeSeconds: number
    readonly rssBytes: number
  }
  /** Set by the balena supervisor in every container it runs; null elsewhere. */
  readonly balena: { readonly deviceName?: string; readonly deviceType?: string; readonly fleet?: string } | null
  /** The EUI, the packet forwarder and the device's services (lib/gateway/lorawan.ts). */
  readonly lorawan: LorawanFacts
}

export const GATEWAY_CACHE_SECONDS = 5
const DATABASE_PROBE_TIMEOUT_MS = 2_000

// read once: the version cannot change while the process runs
const SERVICE_VERSION = (() => {
  try {
    return String(JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')).version)
  } catch {
    return 'unknown'
  }
})()

// per database handle, so a test that starts a second runtime in the same process sees its own
const cache = new WeakMap<object, { readAt: number; facts: Promise<GatewayFacts> }>()

/** The gateway's facts as of `now`, or as of a read less than GATEWAY_CACHE_SECONDS before it. */
export function readGateway(
  db: Queryable,
  config: Pick<Config, 'dataDir' | 'database'>,
  now: Date,
  env: NodeJS.ProcessEnv = process.env,
): Promise<GatewayFacts> {
  const hit = cache.get(db)
  const age = hit ? now.getTime() - hit.readAt : Infinity
  if (hit && age >= 0 && age < GATEWAY_CACHE_SECONDS * 1000) return hit.facts
  const facts = gatherGateway(db, config, now, env)
  cache.set(db, { readAt: now.getTime(), facts })
  // a failed read must not be served from the cache
  facts.catch(() => cache.delete(db))
  return facts
}

/** Drops the cached facts: the next read gathers them anew (after a restart the card must show it). */
export const forgetGateway = (db: Queryable): void => void cache.delete(db)

async function gatherGateway(
  db: Queryable,
  config: Pick<Config, 'dataDir' | 'database'>,
  now: Date,
  env: NodeJS.ProcessEnv,
): Promise<GatewayFacts> {
  const [disk, database, lorawan] = await Promise.all([
    readDisk(config.dataDir),
    probeDatabase(db),
    readLorawan(env, now),
  ])
  const cpus = os.cpus()
  const [one = 0, five = 0, fifteen = 0] = os.loadavg()
  return {
    readAt: now,
    hostname: os.hostname(),
    uptimeSeconds: Math.round(os.uptime()),
    loadAverage: [one, five, fifteen],
    // on arm64 Linux /proc/cpuinfo names no model: the architecture stands in
    cpu: { count: cpus.length || os.availableParallelism(), model: cpuModel(cpus[0]?.model, os.machine()) },
    // os.freemem() is MemAvailable on Linux: page cache the kernel can drop counts as free
    memory: { totalBytes: os.totalmem(), usedBytes: os.totalmem() - os.freemem() },
    disk,
    database: { kind: config.database.url ? 'server' : 'embedded', ...database },
    service: {
      version: SERVICE_VERSION,
      nodeVersion: process.versions.node,
      uptimeSeconds: Math.round(process.uptime()),
      rssBytes: process.memoryUsage.rss(),
    },
    balena: balenaDevice(env),
    lorawan,
  }
}

/** The CPU model as the kernel names it, or the architecture when it names none. */
export function cpuModel(model: string | undefined, machine: string): string {
  const name = model?.trim().replace(/\s+/g, ' ')
  return name && name.toLowerCase() !== 'unknown' ? name : machine
}

/** The device as the balena supervisor describes it (BALENA_* variables), or null off balena. */
export function balenaDevice(env: NodeJS.ProcessEnv): GatewayFacts['balena'] {
  const device = {
    deviceName: env.BALENA_DEVICE_NAME_AT_INIT || undefined,
    deviceType: env.BALENA_DEVICE_TYPE || undefined,
    fleet: env.BALENA_APP_NAME || undefined,
  }
  return env.BALENA === '1' || Object.values(device).some(Boolean) ? device : null
}

async function readDisk(dataDir: string): Promise<GatewayFacts['disk']> {
  try {
    const fs = await statfs(dataDir)
    // bavail, not bfree: the blocks reserved for root are not ours to fill
    return { freeBytes: fs.bavail * fs.bsize, totalBytes: fs.blocks * fs.bsize }
  } catch {
    return null
  }
}

async function probeDatabase(db: Queryable): Promise<{ healthy: boolean; sizeBytes: number | null }> {
  let timer: NodeJS.Timeout | undefined
  try {
    const row = await Promise.race([
      db.one<{ size: string }>('SELECT pg_database_size(current_database()) AS size'),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error('database probe timed out')), DATABASE_PROBE_TIMEOUT_MS)
      }),
    ])
    return { healthy: true, sizeBytes: Number(row.size) }
  } catch {
    // the card says "unreachable"; the page itself must still render
    return { healthy: false, sizeBytes: null }
  } finally {
    clearTimeout(timer)
  }
}
