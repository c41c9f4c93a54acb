// How the gateway card reads: the facts of lib/gateway/facts.ts as short rows for people, each with a
// state, and one line that says at a glance whether anything needs attention. Pure functions only.
import type { GatewayFacts } from './facts.ts'
import { lorawanView, type LorawanView } from './lorawan-view.ts'

import type { GatewayRow, RowState } from './card-rows.ts'

export type { GatewayRow, RowState } from './card-rows.ts'
export interface GatewayView {
  readonly readAt: Date
  readonly state: RowState
  readonly summary: string
  readonly rows: readonly GatewayRow[]
  readonly device: readonly GatewayRow[]
  readonly lorawan: LorawanView
}

// below either, a full SD card is near: PostgreSQL stops accepting writes when it cannot extend a file
export const DISK_LOW_FRACTION = 0.1
export const DISK_LOW_BYTES = 500e6
export const MEMORY_HIGH_FRACTION = 0.9

const UNITS = ['B', 'kB', 'MB', 'GB', 'TB'] as const
const DATABASE_NAMES = { embedded: 'Embedded PostgreSQL', server: 'PostgreSQL server' } as const

/** Bytes in decimal units, as disks are sold and `df -H` prints them: 1.2 GB, 512 MB, 900 B. */
export function formatBytes(bytes: number): string {
  let value = Math.max(0, bytes)
  let unit = 0
  while (value >= 1000 && unit < UNITS.length - 1) {
    value /= 1000
    unit++
  }
  const digits = unit === 0 || value >= 100 ? 0 : 1
  return `${value.toFixed(digits).replace(/\.0$/, '')} ${UNITS[unit]}`
}

/** A duration in its two largest units: 3 d 4 h, 5 h 12 min, 7 min, 42 s. */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds))
  const days = Math.floor(s / 86400)
  const hours = Math.floor((s % 86400) / 3600)
  const minutes = Math.floor((s % 3600) / 60)
  if (days) return hours ? `${days} d ${hours} h` : `${days} d`
  if (hours) return minutes ? `${hours} h ${minutes} min` : `${hours} h`
  if (minutes) return `${minutes} min`
  return `${s} s`
}

/** The 1, 5 and 15 minute load averages, two decimals each. */
export const formatLoad = (load: readonly number[]) => load.map((value) => value.toFixed(2)).join(' · ')

const percent = (part: number, whole: number) => (whole > 0 ? `${Math.round((part / whole) * 100)} %` : '')

/** The card's rows and its one-line verdict. */
export function gatewayView(facts: GatewayFacts): GatewayView {
  const { cpu, memory, disk, database, service } = facts
  const memoryState: RowState = memory.usedBytes >= memory.totalBytes * MEMORY_HIGH_FRACTION ? 'warn' : 'ok'
  const diskLow =
    disk !== null && (disk.freeBytes < disk.totalBytes * DISK_LOW_FRACTION || disk.freeBytes < DISK_LOW_BYTES)
  const loadState: RowState = facts.loadAverage[0] > cpu.count ? 'warn' : 'ok'
  const rows: GatewayRow[] = [
    { label: 'Hostname', value: facts.hostname },
    {
      label: 'Up for',
      value: formatDuration(facts.uptimeSeconds),
      detail: `service ${formatDuration(service.uptimeSeconds)}`,
    },
    { label: 'Load', value: formatLoad(facts.loadAverage), detail: '1, 5, 15 min', state: loadState },
    { label: 'CPU', value: `${cpu.count} × ${cpu.model}` },
    {
      label: 'Memory',
      value: `${formatBytes(memory.usedBytes)} of ${formatBytes(memory.totalBytes)}`,
      detail: `${percent(memory.usedBytes, memory.totalBytes)} used · this service ${formatBytes(service.rssBytes)}`,
      state: memoryState,
    },
    disk
      ? {
          label: 'Storage',
          value: `${formatBytes(disk.freeBytes)} free of ${formatBytes(disk.totalBytes)}`,
          detail: `${percent(disk.freeBytes, disk.totalBytes)} free where the data lives`,
          state: diskLow ? 'warn' : 'ok',
        }
      : { label: 'Storage', value: 'not readable', state: 'warn' },
    {
      label: 'Database',
      value: `${DATABASE_NAMES[database.kind]}, ${database.healthy ? 'healthy' : 'unreachable'}`,
      detail: database.sizeBytes === null ? undefined : `${formatBytes(database.sizeBytes)} on disk`,
      state: database.healthy ? 'ok' : 'bad',
    },
    { label: 'Software', value: `gateway-auth ${service.version}`, detail: `Node.js ${service.nodeVersion}` },
  ]
  const device: GatewayRow[] = facts.balena
    ? [
        { label: 'Device', value: facts.balena.deviceName ?? 'unnamed' },
        { label: 'Device type', value: facts.balena.deviceType ?? 'unknown' },
        { label: 'Fleet', value: facts.balena.fleet ?? 'unknown' },
      ]
    : []
  const lorawan = lorawanView(facts.lorawan)
  const problems = [
    // the forwarder first: forwarding packets is what the gateway is for
    ...lorawan.problems.map((problem) => problem.text),
    !database.healthy && 'the database is unreachable',
    diskLow && 'storage is nearly full',
    !disk && 'storage cannot be read',
    memoryState === 'warn' && 'memory is nearly used up',
    loadState === 'warn' && 'the CPU is busy',
  ].filter((text): text is string => typeof text === 'string')
  const bad = !database.healthy || lorawan.problems.some((problem) => problem.state === 'bad')
  const state: RowState = bad ? 'bad' : problems.length ? 'warn' : 'ok'
  const summary = problems.length ? `Needs attention: ${problems.join(', ')}.` : 'Gateway and service are healthy.'
  return { readAt: facts.readAt, state, summary, rows, device, lorawan }
}
