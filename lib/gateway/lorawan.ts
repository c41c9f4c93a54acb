// The gateway as a LoRaWAN gateway: its EUI (eui.ts), the forwarder's shared settings
// (forwarder.ts) and the device's services from the balena supervisor
// (balena-supervisor.ts). One reading for the dashboard's card, its JSON and `gateway-auth status`.
import os from 'node:os'
import { readSupervisor, type DeviceService, type SupervisorReading, type SupervisorWait } from './balena-supervisor.ts'
import { resolveGatewayEui, type GatewayEui, type Interfaces } from './eui.ts'
import { findForwarder, forwarderSettings, type ForwarderSettings } from './forwarder.ts'

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
