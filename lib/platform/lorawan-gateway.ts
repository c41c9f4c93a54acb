// The gateway as a LoRaWAN gateway: its EUI (gateway-eui.ts), the forwarder's shared settings
// (lorawan-forwarder.ts) and the device's services from the balena supervisor
// (balena-supervisor.ts). One reading for the dashboard's card, its JSON and `gateway-auth status`.
import os from 'node:os'
import { readSupervisor, type DeviceService, type SupervisorReading, type SupervisorWait } from './balena-supervisor.ts'
import { resolveGatewayEui, type GatewayEui, type Interfaces } from './gateway-eui.ts'
import { findForwarder, forwarderSettings, type ForwarderSettings } from './lorawan-forwarder.ts'

export interface LorawanFacts {
  readonly eui: GatewayEui
  readonly forwarder: ForwarderSettings
  readonly supervisor: SupervisorReading
  /** The packet forwarder among the supervisor's services; undefined when none is (or it cannot tell). */
  readonly forwarderService: DeviceService | undefined
}

/**
 * Reads the LoRaWAN facts. The supervisor part is cached and never waited on for long (a page);
 * `supervisor` lets the CLI, which has nothing better to do, wait longer. Never throws.
 */
export async function readLorawan(
  env: NodeJS.ProcessEnv,
  now: Date,
  { interfaces, supervisor: waiting }: { interfaces?: Interfaces; supervisor?: SupervisorWait } = {},
): Promise<LorawanFacts> {
  const supervisor = await readSupervisor(env, now, waiting)
  return {
    eui: resolveGatewayEui(env, interfaces ?? networkInterfaces()),
    forwarder: forwarderSettings(env),
    supervisor,
    forwarderService: supervisor.state === 'ok' ? findForwarder(supervisor.services, env) : undefined,
  }
}

// the interfaces cannot be listed in rare system states (libuv's uv_interface_addresses fails):
// the card then says no interface has a MAC, rather than failing the page
function networkInterfaces(): Interfaces {
  try {
    return os.networkInterfaces()
  } catch {
    return {}
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
      credentials_set: forwarder.credentialsSet,
      service: facts.forwarderService?.name ?? null,
      state: facts.forwarderService?.state ?? null,
    },
    supervisor:
      supervisor.state === 'ok'
        ? {
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
        : { state: supervisor.state, reason: supervisor.state === 'unreachable' ? supervisor.reason : null },
  }
}
