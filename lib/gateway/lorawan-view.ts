// How the LoRaWAN part of the gateway card reads (templates/_gateway-lorawan.njk): the EUI and where it came
// from, the forwarder's settings as rows, the device's services, and the problems that go to the
// top of the card ("Needs attention: the packet forwarder is not running"). Pure functions only.
import type { LorawanFacts } from './lorawan.ts'
import type { ServiceState, SupervisorReading } from './balena-supervisor.ts'
import type { GatewayRow, RowState } from './card-rows.ts'

export interface ServiceRow {
  readonly name: string
  readonly state: string
  readonly rowState: RowState
  readonly forwarder: boolean
}
export interface LorawanView {
  readonly eui: string | null
  /** Where the EUI came from, or why there is none. */
  readonly euiSource: string
  readonly euiState: RowState
  readonly rows: readonly GatewayRow[]
  /** The device's services; null when the supervisor cannot say (servicesLine says why). */
  readonly services: readonly ServiceRow[] | null
  readonly servicesLine: string | null
  /** The packet forwarder's service, which the card offers to restart (its viewers are admins); null: none known. */
  readonly restartable: string | null
  /** Each goes into the card's "Needs attention" line, first. */
  readonly problems: readonly { readonly text: string; readonly state: RowState }[]
}

const NOT_REACHABLE = {
  timeout: 'Supervisor not reachable: no answer in time',
  refused: 'Supervisor not reachable: it refused the API key',
  error: 'Supervisor not reachable: it answered with an error',
  garbage: 'Supervisor not reachable: its answer could not be read',
  network: 'Supervisor not reachable: no connection',
} as const

/** Why there is no list of services, in one line; null when there is one. */
export function supervisorLine(reading: SupervisorReading): string | null {
  switch (reading.state) {
    case 'ok':
      return null
    case 'off_balena':
      return 'Not on balena'
    case 'no_api':
      return 'On balena, without the supervisor API (label io.balena.features.supervisor-api)'
    case 'unreachable':
      return NOT_REACHABLE[reading.reason]
  }
}

const stateText = (state: ServiceState) => state.replaceAll('_', ' ')

/** The LoRaWAN rows, services and problems of the card. */
export function lorawanView(facts: LorawanFacts): LorawanView {
  const { eui, forwarder, supervisor, forwarderService } = facts
  const euiSource =
    eui.eui === null
      ? eui.problem
      : eui.source.kind === 'environment'
        ? 'from GATEWAY_EUI'
        : `from the MAC address of ${eui.source.name}${eui.source.chosen === 'fallback' ? ' (there is no eth0)' : ''}` +
          (eui.warning ? `: ${eui.warning}` : '')
  const setting = (label: string, value: string | null): GatewayRow[] => (value ? [{ label, value }] : [])
  const rows: GatewayRow[] = [
    ...(forwarderService
      ? [
          {
            label: 'Packet forwarder',
            value: stateText(forwarderService.state),
            detail: `service ${forwarderService.name}`,
            state: forwarderService.state === 'running' ? ('ok' as const) : ('bad' as const),
          },
        ]
      : []),
    ...setting(
      'Protocol',
      forwarder.protocol && { basics_station: 'LoRa Basics Station', udp: 'Semtech UDP' }[forwarder.protocol],
    ),
    ...setting('Model', forwarder.model),
    ...setting('Concentrator', [forwarder.design, forwarder.concentratorInterface].filter(Boolean).join(', ') || null),
    ...setting('Network server', forwarder.networkServer),
    ...setting('CUPS server', forwarder.cupsServer),
    ...setting('Region', forwarder.region),
    ...setting('Band', forwarder.band),
    ...setting('Frequency plan', forwarder.frequencyPlan),
    ...setting('Keys', forwarder.credentialsSet.length ? `${forwarder.credentialsSet.join(', ')} set` : null),
  ]
  const services =
    supervisor.state === 'ok'
      ? supervisor.services.map((service) => ({
          name: service.name,
          state: stateText(service.state),
          rowState: (service.state === 'running' ? 'ok' : service === forwarderService ? 'bad' : 'warn') as RowState,
          forwarder: service === forwarderService,
        }))
      : null
  const problems: { text: string; state: RowState }[] = []
  if (forwarderService && forwarderService.state !== 'running') {
    problems.push({ text: 'the packet forwarder is not running', state: 'bad' })
  }
  if (supervisor.state === 'ok' && !forwarderService) {
    problems.push({ text: 'no packet forwarder service on this device', state: 'warn' })
  }
  if (eui.eui === null && eui.invalid) problems.push({ text: 'GATEWAY_EUI is not a valid EUI', state: 'warn' })
  return {
    eui: eui.eui,
    euiSource,
    euiState: eui.eui === null || eui.warning ? 'warn' : 'ok',
    rows,
    services,
    servicesLine: supervisorLine(supervisor),
    restartable: forwarderService?.name ?? null,
    problems,
  }
}
