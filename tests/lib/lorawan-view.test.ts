import { describe, expect, it } from 'vitest'
import type { SupervisorReading } from '#lib/gateway/balena-supervisor.ts'
import type { LorawanFacts } from '#lib/gateway/lorawan.ts'
import { forwarderSettings } from '#lib/gateway/forwarder.ts'
import { lorawanView } from '#lib/gateway/lorawan-view.ts'

const NOW = new Date('2026-12-06T18:00:00Z')
const onDevice = (forwarder: string, ...others: string[]): SupervisorReading => ({
  state: 'ok',
  readAt: NOW,
  services: [
    { name: 'udp-packet-forwarder', state: forwarder as 'running' },
    ...others.map((name) => ({ name, state: 'running' as const })),
  ],
  device: null,
})
const facts = (supervisor: SupervisorReading, over: Partial<LorawanFacts> = {}): LorawanFacts => ({
  eui: { eui: 'E45F01FFFE517BA8', source: { kind: 'environment' } },
  forwarder: forwarderSettings({ MODEL: 'RAK7248', SERVER_HOST: 'eu1.cloud.thethings.network', BAND: 'eu_863_870' }),
  supervisor,
  forwarderService:
    supervisor.state === 'ok' ? supervisor.services.find((s) => s.name.includes('forwarder')) : undefined,
  ...over,
})

describe('lorawanView', () => {
  it('a running forwarder: its row first, the settings after, every service listed, nothing to fix', () => {
    const view = lorawanView(facts(onDevice('running', 'gateway-auth')))
    expect(view.problems).toEqual([])
    expect(view.eui).toBe('E45F01FFFE517BA8')
    expect(view.euiSource).toBe('from GATEWAY_EUI')
    expect(view.rows.map((row) => [row.label, row.value])).toEqual([
      ['Packet forwarder', 'running'],
      ['Protocol', 'Semtech UDP'],
      ['Model', 'RAK7248'],
      ['Network server', 'eu1.cloud.thethings.network'],
      ['Band', 'eu_863_870'],
    ])
    expect(view.services).toEqual([
      { name: 'udp-packet-forwarder', state: 'running', rowState: 'ok', forwarder: true },
      { name: 'gateway-auth', state: 'running', rowState: 'ok', forwarder: false },
    ])
    expect(view.servicesLine).toBeNull()
  })

  it.each(['exited', 'restarting', 'downloading', 'awaiting_handover'])(
    'a forwarder %s needs attention, as a problem',
    (state) => {
      const view = lorawanView(facts(onDevice(state)))
      expect(view.problems).toEqual([{ text: 'the packet forwarder is not running', state: 'bad' }])
      expect(view.rows[0]).toMatchObject({ label: 'Packet forwarder', value: state.replace('_', ' '), state: 'bad' })
    },
  )

  it('a device without a forwarder service is a warning', () => {
    const reading: SupervisorReading = { state: 'ok', readAt: NOW, services: [], device: null }
    expect(lorawanView(facts(reading)).problems).toEqual([
      { text: 'no packet forwarder service on this device', state: 'warn' },
    ])
  })

  it.each<[SupervisorReading, string]>([
    [{ state: 'off_balena' }, 'Not on balena'],
    [{ state: 'no_api' }, 'On balena, without the supervisor API (label io.balena.features.supervisor-api)'],
    [{ state: 'unreachable', reason: 'timeout' }, 'Supervisor not reachable: no answer in time'],
    [{ state: 'unreachable', reason: 'refused' }, 'Supervisor not reachable: it refused the API key'],
    [{ state: 'unreachable', reason: 'error' }, 'Supervisor not reachable: it answered with an error'],
    [{ state: 'unreachable', reason: 'garbage' }, 'Supervisor not reachable: its answer could not be read'],
    [{ state: 'unreachable', reason: 'network' }, 'Supervisor not reachable: no connection'],
  ])('no services (%j): one clear line, and no problem raised', (reading, line) => {
    const view = lorawanView(facts(reading))
    expect(view.services).toBeNull()
    expect(view.servicesLine).toBe(line)
    expect(view.problems).toEqual([])
  })

  it('says where a derived EUI came from, and flags one not fit to register', () => {
    const derived = lorawanView(
      facts(
        { state: 'off_balena' },
        {
          eui: {
            eui: '02FC00FFFE000001',
            source: { kind: 'interface', name: 'wlan0', chosen: 'fallback' },
            warning: 'the MAC of wlan0 is a local one',
          },
        },
      ),
    )
    expect(derived.euiSource).toBe('from the MAC address of wlan0 (there is no eth0): the MAC of wlan0 is a local one')
    expect(derived.euiState).toBe('warn')
    const invalid = lorawanView(facts({ state: 'off_balena' }, { eui: { eui: null, problem: 'bad', invalid: true } }))
    expect(invalid.problems).toEqual([{ text: 'GATEWAY_EUI is not a valid EUI', state: 'warn' }])
  })
})
