// The gateway card as JSON (GET /dashboard/<name>'s `gateway`): snake_case, sizes in bytes, times in
// seconds, and its schema for the OpenAPI document.
import { z } from 'zod'
import type { GatewayFacts } from './facts.ts'

/** The facts as the dashboard's JSON shows them: snake_case, sizes in bytes, times in seconds. */
export function gatewayJson(facts: GatewayFacts) {
  const { memory, disk, database, service, balena } = facts
  return {
    read_at: facts.readAt.toISOString(),
    hostname: facts.hostname,
    uptime_seconds: facts.uptimeSeconds,
    load_average: [...facts.loadAverage],
    cpu: facts.cpu,
    memory: { used_bytes: memory.usedBytes, total_bytes: memory.totalBytes },
    disk: disk && { free_bytes: disk.freeBytes, total_bytes: disk.totalBytes },
    database: { kind: database.kind, healthy: database.healthy, size_bytes: database.sizeBytes },
    service: {
      version: service.version,
      node_version: service.nodeVersion,
      uptime_seconds: service.uptimeSeconds,
      rss_bytes: service.rssBytes,
    },
    balena: balena && {
      device_name: balena.deviceName ?? null,
      device_type: balena.deviceType ?? null,
      fleet: balena.fleet ?? null,
    },
  }
}

const bytes = z.number().int().min(0)
const text = z.string().nullable()

/** The shape of gatewayJson, for the OpenAPI document. */
export const GatewayJson = z
  .object({
    read_at: z.iso.datetime(),
    hostname: z.string(),
    uptime_seconds: z.number().min(0),
    load_average: z.array(z.number().min(0)).length(3),
    cpu: z.object({ count: z.number().int().min(1), model: z.string() }),
    memory: z.object({ used_bytes: bytes, total_bytes: bytes }),
    disk: z
      .object({ free_bytes: bytes, total_bytes: bytes })
      .nullable()
      .meta({ description: 'The file system holding DATA_DIR; null when it cannot be read.' }),
    database: z.object({ kind: z.enum(['embedded', 'server']), healthy: z.boolean(), size_bytes: bytes.nullable() }),
    service: z.object({
      version: z.string(),
      node_version: z.string(),
      uptime_seconds: z.number().min(0),
      rss_bytes: bytes,
    }),
    balena: z
      .object({ device_name: text, device_type: text, fleet: text })
      .nullable()
      .meta({ description: 'null off balena.' }),
  })
  .meta({ description: "What the dashboard's gateway card shows, read when asked and cached for a few seconds." })
