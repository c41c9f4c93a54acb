import { describe, expect, it } from 'vitest'
import { findForwarder, forwarderSettings, KEY_VARIABLES, withoutCredentials } from '#lib/gateway/forwarder.ts'

const SECRET = 'NNSXS.E2CK53NQYZ.SECRETVALUE'

describe('forwarderSettings', () => {
  it('reads the RAK UDP forwarder’s variables', () => {
    expect(
      forwarderSettings({
        MODEL: 'RAK7248',
        DESIGN: 'corecell',
        INTERFACE: 'SPI',
        SERVER_HOST: 'eu1.cloud.thethings.network',
        SERVER_PORT: '1700',
        BAND: 'eu_863_870',
        TTS_REGION: 'eu1',
        TTS_FREQUENCY_PLAN_ID: 'EU_863_870_TTN',
      }),
    ).toEqual({
      protocol: 'udp',
      model: 'RAK7248',
      design: 'corecell',
      concentratorInterface: 'SPI',
      networkServer: 'eu1.cloud.thethings.network:1700',
      cupsServer: null,
      region: 'eu1',
      band: 'eu_863_870',
      frequencyPlan: 'EU_863_870_TTN',
      credentialsSet: [],
    })
  })

  it('reads the Basics Station’s, with the older TTN_REGION and CONCENTRATOR when the new names are unset', () => {
    expect(
      forwarderSettings({
        MODEL: 'SX1303',
        CONCENTRATOR: 'SX1303',
        TC_URI: 'wss://eu1.cloud.thethings.network:8887',
        CUPS_URI: 'https://eu1.cloud.thethings.network:443',
        TTN_REGION: 'eu1',
        TC_KEY: SECRET,
      }),
    ).toMatchObject({
      protocol: 'basics_station',
      design: 'SX1303',
      networkServer: 'wss://eu1.cloud.thethings.network:8887',
      cupsServer: 'https://eu1.cloud.thethings.network',
      region: 'eu1',
      credentialsSet: ['TC_KEY'],
    })
  })

  it('is all nulls with nothing set, and says no protocol when the variables contradict each other', () => {
    expect(forwarderSettings({})).toEqual({
      protocol: null,
      model: null,
      design: null,
      concentratorInterface: null,
      networkServer: null,
      cupsServer: null,
      region: null,
      band: null,
      frequencyPlan: null,
      credentialsSet: [],
    })
    expect(forwarderSettings({ SERVER_HOST: 'lns.example', TC_URI: 'wss://lns.example' }).protocol).toBeNull()
  })

  it('never shows a key or token, even when every one is set: only the names of those set', () => {
    const env = Object.fromEntries(KEY_VARIABLES.map((name) => [name, `${SECRET}-${name}`]))
    const settings = forwarderSettings({
      ...env,
      // and secrets smuggled into the URIs the card does show
      TC_URI: `wss://gw:${SECRET}@lns.example.com:8887/path?token=${SECRET}#${SECRET}`,
      SERVER_HOST: `user:${SECRET}@lns.example.com`,
      CUPS_URI: `https://cups.example.com/?key=${SECRET}`,
    })
    expect(JSON.stringify(settings)).not.toContain('SECRETVALUE')
    expect(settings.credentialsSet).toEqual([...KEY_VARIABLES])
    expect(settings.networkServer).toBe('lns.example.com')
    expect(settings.cupsServer).toBe('https://cups.example.com')
  })

  it('keeps values printable and short', () => {
    expect(forwarderSettings({ MODEL: 'RAK\u0007 7248\n', BAND: 'x'.repeat(500) })).toMatchObject({
      model: 'RAK 7248',
      band: 'x'.repeat(120),
    })
  })

  it.each([
    ['wss://lns.example.com:8887', 'wss://lns.example.com:8887'],
    ['wss://a:b@lns.example.com:8887/x?k=1', 'wss://lns.example.com:8887/x'],
    ['lns.example.com', 'lns.example.com'],
    ['name:pw@10.0.0.5', '10.0.0.5'],
  ])('withoutCredentials(%j) is %j', (uri, shown) => expect(withoutCredentials(uri)).toBe(shown))
})

describe('findForwarder', () => {
  const services = [{ name: 'gateway-auth' }, { name: 'basicstation' }, { name: 'udp-packet-forwarder' }]
  it.each<[string, NodeJS.ProcessEnv, string | undefined]>([
    ['the first service named like one of the blocks', {}, 'basicstation'],
    [
      'the one PACKET_FORWARDER_SERVICE names',
      { PACKET_FORWARDER_SERVICE: 'udp-packet-forwarder' },
      'udp-packet-forwarder',
    ],
    ['none when the named service is not there', { PACKET_FORWARDER_SERVICE: 'station-2' }, undefined],
  ])('%s', (_name, env, found) => expect(findForwarder(services, env)?.name).toBe(found))

  it('none on a device without one', () => {
    expect(findForwarder([{ name: 'gateway-auth' }, { name: 'chirpstack' }], {})).toBeUndefined()
  })
})
