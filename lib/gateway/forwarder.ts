// The packet forwarder as the fleet's environment describes it: the variables the
// RAKWireless/udp-packet-forwarder and balenalabs/basicstation blocks read (docs/gateway-card.md
// lists them). balena fleet variables reach every service, this one too. Only the variables named
// here are read, so a key or token can never be shown: of those (KEY_VARIABLES) only the names of
// the ones set are reported, never a value. Pure functions over the environment.

export interface ForwarderSettings {
  /** 'basics_station' or 'udp' (Semtech UDP) when the variables say which; null when they do not. */
  readonly protocol: 'basics_station' | 'udp' | null
  /** MODEL: the RAK gateway or WisLink module, or the concentrator chip (SX1302 …). */
  readonly model: string | null
  /** DESIGN (or CONCENTRATOR): corecell, picocell, 2g4, v2 … */
  readonly design: string | null
  /** INTERFACE: SPI, USB, NET or AUTO. */
  readonly concentratorInterface: string | null
  /** Where the traffic goes: SERVER_HOST[:SERVER_PORT] (UDP), TC_URI (Basics Station) or SERVER. */
  readonly networkServer: string | null
  /** CUPS_URI: the Basics Station configuration and update server. */
  readonly cupsServer: string | null
  /** TTS_REGION (or the older TTN_REGION): the The Things Stack cluster, like eu1. */
  readonly region: string | null
  /** BAND: the regional parameters (eu_863_870 …), UDP forwarder. */
  readonly band: string | null
  /** TTS_FREQUENCY_PLAN_ID, used when the forwarder registers itself. */
  readonly frequencyPlan: string | null
  /** The key and token variables that are set: their names only. */
  readonly credentialsSet: readonly KeyVariable[]
}

/** Secrets the blocks read: their values are never read here, only whether they are set. */
export const KEY_VARIABLES = [
  'TC_KEY',
  'CUPS_KEY',
  'TTS_PERSONAL_KEY',
  'TTS_KEY',
  'CS_TOKEN',
  'GW_KEY',
  'TC_CRT',
  'CUPS_CRT',
] as const
export type KeyVariable = (typeof KEY_VARIABLES)[number]

const MAX_VALUE_LENGTH = 120

/** A variable's value as a fact: trimmed, printable, capped; null when unset or blank. */
function fact(env: NodeJS.ProcessEnv, name: string): string | null {
  const value = env[name]?.replace(/[\u0000-\u001f\u007f]/g, '').trim()
  return value ? value.slice(0, MAX_VALUE_LENGTH) : null
}

/** A server URI or host without what could carry a secret: user information, query and fragment. */
export function withoutCredentials(uri: string): string {
  // a bare host[:port] (SERVER_HOST): everything up to the last @ is user information
  if (!uri.includes('://')) return uri.replace(/^.*@/, '').replace(/[/?#].*$/, '')
  try {
    const url = new URL(uri)
    return `${url.protocol}//${url.host}${url.pathname === '/' ? '' : url.pathname}`
  } catch {
    return uri.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/]*@/i, '$1').replace(/[?#].*$/, '')
  }
}

const uriFact = (env: NodeJS.ProcessEnv, name: string) => {
  const value = fact(env, name)
  return value && withoutCredentials(value)
}

/** The forwarder's shared settings, as far as this service's environment shows them. */
export function forwarderSettings(env: NodeJS.ProcessEnv): ForwarderSettings {
  const serverHost = uriFact(env, 'SERVER_HOST')
  const serverPort = fact(env, 'SERVER_PORT')
  const udpServer =
    serverHost && (serverPort && /^\d{1,5}$/.test(serverPort) ? `${serverHost}:${serverPort}` : serverHost)
  const tcUri = uriFact(env, 'TC_URI')
  const cupsUri = uriFact(env, 'CUPS_URI')
  const credentialsSet = KEY_VARIABLES.filter((name) => Boolean(env[name]?.trim()))
  const stationKeys = credentialsSet.some((name) => name.startsWith('TC_') || name.startsWith('CUPS_'))
  const stationSigns = Boolean(tcUri || cupsUri || env.USE_CUPS === '1' || stationKeys)
  const udpSigns = Boolean(serverHost || serverPort || fact(env, 'BAND'))
  return {
    protocol: stationSigns && !udpSigns ? 'basics_station' : udpSigns && !stationSigns ? 'udp' : null,
    model: fact(env, 'MODEL'),
    design: fact(env, 'DESIGN') ?? fact(env, 'CONCENTRATOR'),
    concentratorInterface: fact(env, 'INTERFACE'),
    networkServer: udpServer ?? tcUri ?? uriFact(env, 'SERVER'),
    cupsServer: cupsUri,
    region: fact(env, 'TTS_REGION') ?? fact(env, 'TTN_REGION'),
    band: fact(env, 'BAND'),
    frequencyPlan: fact(env, 'TTS_FREQUENCY_PLAN_ID'),
    credentialsSet,
  }
}

// the blocks' service names (udp-packet-forwarder, basicstation) and the usual variants
const FORWARDER_NAME = /packet[-_]?forwarder|basics?[-_]?station/i

/**
 * The packet forwarder among the device's services: the one PACKET_FORWARDER_SERVICE names, or
 * else the first whose name says it is one. Undefined when there is none.
 */
export function findForwarder<T extends { readonly name: string }>(
  services: readonly T[],
  env: NodeJS.ProcessEnv,
): T | undefined {
  const named = env.PACKET_FORWARDER_SERVICE?.trim()
  if (named) return services.find((service) => service.name === named)
  return services.find((service) => FORWARDER_NAME.test(service.name))
}
