import os, { type NetworkInterfaceInfo } from 'node:os'
import { describe, expect, it } from 'vitest'
import {
  euiFromMac,
  isLocallyAdministered,
  parseGatewayEui,
  resolveGatewayEui,
  type Interfaces,
} from '#lib/gateway/eui.ts'

const nic = (mac: string, internal = false): NetworkInterfaceInfo[] => [
  { address: '192.0.2.7', netmask: '255.255.255.0', family: 'IPv4', mac, internal, cidr: '192.0.2.7/24' },
]
const LOOPBACK = nic('00:00:00:00:00:00', true)
const RAK: Interfaces = { lo: LOOPBACK, eth0: nic('e4:5f:01:51:7b:a8'), wlan0: nic('e4:5f:01:51:7b:a9') }

describe('euiFromMac', () => {
  it.each([
    ['e4:5f:01:51:7b:a8', 'E45F01FFFE517BA8'],
    ['B8:27:EB:00:00:01', 'B827EBFFFE000001'],
    ['02:42:ac:11:00:02', '0242ACFFFE110002'],
  ])('%s → %s', (mac, eui) => expect(euiFromMac(mac)).toBe(eui))

  it.each(['', 'e4:5f:01:51:7b', 'e4-5f-01-51-7b-a8', 'e4:5f:01:51:7b:a8:00', 'zz:5f:01:51:7b:a8'])(
    'refuses %j',
    (mac) => expect(() => euiFromMac(mac)).toThrow(/not a 48-bit MAC/),
  )

  it('tells a locally administered MAC (a container’s virtual interface) from a maker’s', () => {
    expect(isLocallyAdministered('02:42:ac:11:00:02')).toBe(true)
    expect(isLocallyAdministered('e4:5f:01:51:7b:a8')).toBe(false)
  })
})

describe('parseGatewayEui', () => {
  it.each([
    ['E45F01FFFE517BA8', 'E45F01FFFE517BA8'],
    [' e45f01fffe517ba8\n', 'E45F01FFFE517BA8'],
  ])('accepts %j as %s', (raw, eui) => expect(parseGatewayEui(raw)).toEqual({ eui }))

  it.each([
    ['E4:5F:01:FF:FE:51:7B:A8', /16 hexadecimal digits/],
    ['E45F01FFFE517BA', /16 hexadecimal digits/],
    ['E45F01FFFE517BA80', /16 hexadecimal digits/],
    ['G45F01FFFE517BA8', /16 hexadecimal digits/],
    ['0x45F01FFFE517BA8', /16 hexadecimal digits/],
    ['0000000000000000', /all zeros/],
  ])('refuses %j', (raw, message) => {
    const parsed = parseGatewayEui(raw)
    expect(parsed).toEqual({ problem: expect.stringMatching(message) })
    // the refusal names the variable, and does not echo what was set
    expect((parsed as { problem: string }).problem).not.toContain(raw)
  })
})

describe('resolveGatewayEui', () => {
  it.each<[string, NodeJS.ProcessEnv, Interfaces, object]>([
    [
      'GATEWAY_EUI wins over every interface',
      { GATEWAY_EUI: 'aa555a0000000101' },
      RAK,
      { eui: 'AA555A0000000101', source: { kind: 'environment' } },
    ],
    [
      'without it, eth0 by default',
      {},
      RAK,
      { eui: 'E45F01FFFE517BA8', source: { kind: 'interface', name: 'eth0', chosen: 'default' } },
    ],
    [
      'GATEWAY_EUI_NIC picks the interface',
      { GATEWAY_EUI_NIC: 'wlan0' },
      RAK,
      { eui: 'E45F01FFFE517BA9', source: { kind: 'interface', name: 'wlan0', chosen: 'configured' } },
    ],
    [
      'GATEWAY_EUI_SOURCE (the blocks’ newer name) wins over GATEWAY_EUI_NIC',
      { GATEWAY_EUI_SOURCE: 'eth0', GATEWAY_EUI_NIC: 'wlan0' },
      RAK,
      { eui: 'E45F01FFFE517BA8', source: { kind: 'interface', name: 'eth0', chosen: 'configured' } },
    ],
    [
      'no eth0: the first interface that is not loopback',
      {},
      { lo: LOOPBACK, wlan0: nic('e4:5f:01:51:7b:a9') },
      { eui: 'E45F01FFFE517BA9', source: { kind: 'interface', name: 'wlan0', chosen: 'fallback' } },
    ],
    [
      'an interface asked for by name is never replaced by another',
      { GATEWAY_EUI_NIC: 'usb0' },
      RAK,
      { eui: null, problem: 'this container has no network interface usb0' },
    ],
    [
      'a bad GATEWAY_EUI is refused, not replaced by a derived one',
      { GATEWAY_EUI: 'E4:5F:01:FF:FE:51:7B:A8' },
      RAK,
      { eui: null, problem: expect.stringMatching(/^GATEWAY_EUI must be 16 hexadecimal digits/), invalid: true },
    ],
    [
      'GATEWAY_EUI_SOURCE=chip: only the forwarder can read it',
      { GATEWAY_EUI_SOURCE: 'chip' },
      RAK,
      { eui: null, problem: expect.stringContaining('concentrator chip') },
    ],
    [
      'only loopback: none',
      {},
      { lo: LOOPBACK },
      { eui: null, problem: expect.stringContaining('no network interface') },
    ],
  ])('%s', (_name, env, interfaces, expected) => expect(resolveGatewayEui(env, interfaces)).toEqual(expected))

  it('warns that an EUI from a locally administered MAC is not one to register', () => {
    const found = resolveGatewayEui({}, { eth0: nic('02:42:ac:11:00:02') })
    expect(found).toMatchObject({ eui: '0242ACFFFE110002', warning: expect.stringContaining('set GATEWAY_EUI') })
  })

  it("on this machine's real interfaces: the EUI is the MAC of eth0 (or the first non-loopback) with FFFE", () => {
    const interfaces = os.networkInterfaces()
    const candidates = Object.entries(interfaces).filter(([, entries]) =>
      entries?.some((e) => !e.internal && e.mac !== '00:00:00:00:00:00'),
    )
    const found = resolveGatewayEui({}, interfaces)
    if (candidates.length === 0) {
      expect(found.eui).toBeNull()
      return
    }
    const [name, entries] = candidates.find(([n]) => n === 'eth0') ?? candidates[0]!
    const mac = entries!.find((e) => !e.internal)!.mac
    expect(found).toMatchObject({
      eui: mac
        .replaceAll(':', '')
        .toUpperCase()
        .replace(/^(.{6})/, '$1FFFE'),
      source: { kind: 'interface', name, chosen: name === 'eth0' ? 'default' : 'fallback' },
    })
    expect(found.eui).toMatch(/^[0-9A-F]{6}FFFE[0-9A-F]{6}$/)
    expect('warning' in found && Boolean(found.warning)).toBe(isLocallyAdministered(mac))
  })
})
