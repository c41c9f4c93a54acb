// The gateway card as JSON (GET /dashboard/<name>'s `gateway`; its `lorawan` part is also what
// `gateway-auth status --json` prints): snake_case, sizes in bytes, times in seconds, and the zod
// schemas the OpenAPI document is made from.
import * as z from 'zod'
import {
  SUPERVISOR_CACHE_SECONDS,
  SUPERVISOR_WAIT_MS,
  SERVICE_STATES,
  type SupervisorReading,
  UNREACHABLE_REASONS,
} from './balena-supervisor.ts'
import type { GatewayFacts } from './facts.ts'
import { KEY_VARIABLES } from './forwarder.ts'
import type { LorawanFacts } from './lorawan.ts'

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
    lorawan: lorawanJson(facts.lorawan),
  }
}

/** The facts as the dashboard's JSON (and `gateway-auth status --json`) shows them. */
export function lorawanJson(facts: LorawanFacts) {
  const { eui, forwarder, supervisor } = facts
  return {
    gateway_eui: eui.eui,
    gateway_eui_source:
      eui.eui === null
        ? null
        : eui.source.kind === 'environment'
          ? { kind: 'environment' as const, interface: null }
          : { kind: 'interface' as const, interface: eui.source.name },
    gateway_eui_problem: eui.eui === null ? eui.problem : (eui.warning ?? null),
    forwarder: {
      protocol: forwarder.protocol,
      model: forwarder.model,
      design: forwarder.design,
      interface: forwarder.concentratorInterface,
      network_server: forwarder.networkServer,
      cups_server: forwarder.cupsServer,
      region: forwarder.region,
      band: forwarder.band,
      frequency_plan: forwarder.frequencyPlan,
      credentials_set: [...forwarder.credentialsSet],
      service: facts.forwarderService?.name ?? null,
      state: facts.forwarderService?.state ?? null,
    },
    supervisor: supervisorJson(supervisor),
  }
}

function supervisorJson(supervisor: SupervisorReading): z.infer<typeof LorawanJson>['supervisor'] {
  switch (supervisor.state) {
    case 'ok':
      return {
        state: supervisor.state,
        read_at: supervisor.readAt.toISOString(),
        services: supervisor.services.map((s) => ({ name: s.name, state: s.state })),
        device: supervisor.device && {
          status: supervisor.device.status,
          os_version: supervisor.device.osVersion,
          supervisor_version: supervisor.device.supervisorVersion,
          update_pending: supervisor.device.updatePending,
        },
      }
    case 'unreachable':
      return { state: supervisor.state, reason: supervisor.reason }
    default:
      return { state: supervisor.state, reason: null }
  }
}

const bytes = z.number().int().min(0)
const text = z.string().nullable()

const ServiceStateJson = z.enum(SERVICE_STATES).meta({
  description:
    "A service's state as the balena Supervisor reports it, in lower case (`Awaiting handover` → " +
    '`awaiting_handover`); `unknown` for a state this version does not know.',
})
const setting = (variables: string) => text.meta({ description: variables })

/** The shape of lorawanJson, for the OpenAPI document. */
export const LorawanJson = z
  .object({
    gateway_eui: z
      .string()
      .regex(/^[0-9A-F]{16}$/)
      .nullable()
      .meta({
        description: '16 hex digits, upper case; null when it cannot be known here (`gateway_eui_problem` says why).',
      }),
    gateway_eui_source: z
      .union([
        z.object({ kind: z.literal('environment'), interface: z.null() }).meta({ description: 'From `GATEWAY_EUI`.' }),
        z
          .object({ kind: z.literal('interface'), interface: z.string() })
          .meta({ description: 'From the MAC address of this network interface, with FFFE inserted in the middle.' }),
      ])
      .nullable(),
    gateway_eui_problem: text.meta({
      description: 'Why there is no EUI, or why the one shown is not fit to register (a locally administered MAC).',
    }),
    forwarder: z.object({
      protocol: z.enum(['basics_station', 'udp']).nullable(),
      model: setting('MODEL'),
      design: setting('DESIGN, or CONCENTRATOR'),
      interface: setting('INTERFACE'),
      network_server: setting('SERVER_HOST[:SERVER_PORT], TC_URI or SERVER, without user information or query'),
      cups_server: setting('CUPS_URI, without user information or query'),
      region: setting('TTS_REGION, or TTN_REGION'),
      band: setting('BAND'),
      frequency_plan: setting('TTS_FREQUENCY_PLAN_ID'),
      credentials_set: z
        .array(z.enum(KEY_VARIABLES))
        .meta({ description: 'The names of the key variables that are set; never their values.' }),
      service: text.meta({
        description: "The packet forwarder's service name on the device, when the supervisor lists one.",
      }),
      state: ServiceStateJson.nullable(),
    }),
    supervisor: z.discriminatedUnion('state', [
      z.object({
        state: z.literal('ok'),
        read_at: z.iso.datetime(),
        services: z.array(z.object({ name: z.string(), state: ServiceStateJson })),
        device: z
          .object({
            status: text,
            os_version: text,
            supervisor_version: text,
            update_pending: z.boolean().nullable(),
          })
          .nullable(),
      }),
      z.object({ state: z.enum(['off_balena', 'no_api']), reason: z.null() }).meta({
        description:
          '`off_balena`: not on a balena device; `no_api`: on balena, without the ' +
          '`io.balena.features.supervisor-api` label.',
      }),
      z.object({
        state: z.literal('unreachable'),
        reason: z.enum(UNREACHABLE_REASONS),
      }),
    ]),
  })
  .meta({
    description:
      "The gateway as a LoRaWAN gateway (docs/gateway-card.md): its EUI, the packet forwarder's settings as the " +
      "fleet's environment shows them (never a key or token: `credentials_set` names the ones set), and the " +
      `device's services from the balena Supervisor, whose reading is cached for ${SUPERVISOR_CACHE_SECONDS} ` +
      `seconds and never waited on for more than ${SUPERVISOR_WAIT_MS / 1000} s.`,
  })

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
    lorawan: LorawanJson,
  })
  .meta({ description: "What the dashboard's gateway card shows, read when asked and cached for a few seconds." })
