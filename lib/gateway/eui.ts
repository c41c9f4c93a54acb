// The Gateway EUI, found the way the packet-forwarder blocks find it (RAKWireless/udp-packet-forwarder
// runner/gateway_eui, balenalabs/basicstation): GATEWAY_EUI when set; otherwise the 48-bit MAC of
// a network interface with FFFE inserted in the middle (EUI-48 → EUI-64). The interface is
// GATEWAY_EUI_SOURCE (the blocks' current name) or GATEWAY_EUI_NIC (the older one), default eth0;
// only when neither is set and eth0 is missing does the first non-loopback interface stand in.
// Pure functions: the environment and os.networkInterfaces() are arguments.
import type { NetworkInterfaceInfo } from 'node:os'

export type Interfaces = NodeJS.Dict<NetworkInterfaceInfo[]>

export type EuiSource =
  | { readonly kind: 'environment' }
  | { readonly kind: 'interface'; readonly name: string; readonly chosen: 'configured' | 'default' | 'fallback' }

/** A found EUI, or why there is none; `warning` flags an EUI that is not fit to register. */
export type GatewayEui =
  | { readonly eui: string; readonly source: EuiSource; readonly warning?: string }
  | { readonly eui: null; readonly problem: string; readonly invalid?: true }

const EUI_PATTERN = /^[0-9A-F]{16}$/
const MAC_PATTERN = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i
const DEFAULT_NIC = 'eth0'

/** GATEWAY_EUI as the forwarders need it (16 hex digits, upper case), or the reason it is refused. */
export function parseGatewayEui(raw: string): { eui: string } | { problem: string } {
  const eui = raw.trim().toUpperCase()
  if (!EUI_PATTERN.test(eui)) {
    return { problem: 'GATEWAY_EUI must be 16 hexadecimal digits, without separators (like AA555A0000000101)' }
  }
  if (/^0+$/.test(eui)) return { problem: 'GATEWAY_EUI must not be all zeros' }
  return { eui }
}

/** The EUI-64 of a 48-bit MAC address: its first three bytes, FFFE, its last three. */
export function euiFromMac(mac: string): string {
  if (!MAC_PATTERN.test(mac)) throw new Error(`not a 48-bit MAC address: ${mac}`)
  const hex = mac.replaceAll(':', '').toUpperCase()
  return `${hex.slice(0, 6)}FFFE${hex.slice(6)}`
}

/**
 * A locally administered MAC (second-lowest bit of the first byte set) is made up by software, as
 * a container's virtual interface is: an EUI from it is not unique and changes with the container.
 */
export const isLocallyAdministered = (mac: string) => (Number.parseInt(mac.slice(0, 2), 16) & 0x02) !== 0

/** The interface's 48-bit MAC, or undefined when it has none worth using (loopback, all zeros). */
function macOf(entries: NetworkInterfaceInfo[] | undefined): string | undefined {
  const entry = entries?.find((info) => !info.internal && MAC_PATTERN.test(info.mac) && !/^[0:]+$/.test(info.mac))
  return entry?.mac
}

/** The Gateway EUI from the environment, or derived from `interfaces` (os.networkInterfaces()). */
export function resolveGatewayEui(env: NodeJS.ProcessEnv, interfaces: Interfaces): GatewayEui {
  if (env.GATEWAY_EUI?.trim()) {
    const parsed = parseGatewayEui(env.GATEWAY_EUI)
    if ('eui' in parsed) return { eui: parsed.eui, source: { kind: 'environment' } }
    return { eui: null, problem: parsed.problem, invalid: true }
  }
  const configured = env.GATEWAY_EUI_SOURCE?.trim() || env.GATEWAY_EUI_NIC?.trim()
  if (configured === 'chip') {
    return {
      eui: null,
      problem: 'the packet forwarder reads it from the concentrator chip (GATEWAY_EUI_SOURCE=chip); set GATEWAY_EUI',
    }
  }
  const name = configured || DEFAULT_NIC
  const named = macOf(interfaces[name])
  if (named) return fromInterface(named, name, configured ? 'configured' : 'default')
  // an interface asked for by name is never silently replaced: the forwarder would not use another one
  if (configured) return { eui: null, problem: `this container has no network interface ${configured}` }
  for (const [other, entries] of Object.entries(interfaces)) {
    const mac = macOf(entries)
    if (mac) return fromInterface(mac, other, 'fallback')
  }
  return { eui: null, problem: 'GATEWAY_EUI is not set and no network interface has a MAC address' }
}

function fromInterface(mac: string, name: string, chosen: 'configured' | 'default' | 'fallback'): GatewayEui {
  const eui = euiFromMac(mac)
  const source: EuiSource = { kind: 'interface', name, chosen }
  if (!isLocallyAdministered(mac)) return { eui, source }
  return {
    eui,
    source,
    warning:
      `the MAC of ${name} is a local one, not the maker's (a container's virtual interface?): ` +
      'set GATEWAY_EUI, or run with host networking, before registering this EUI',
  }
}
